"""`Kalan süre: 4:59`, computed from a deadline and repainting only its digits.

The number is derived from the deadline on every tick (never decremented),
so a slow or paused event loop cannot make it lie. Only the small digits
widget refreshes each second; the words around it are drawn once. On the way
down it warns once at each of `HURRY_SECONDS` (the screen tells the person).

In screen-reader mode (the app's `-screen-reader` class, `--screen-reader`)
the digits give way to the time in words (`SpokenTime`), which changes only
when the PIN screen appears, at 60, 30 and 10 seconds and at the end: a
screen reader reads every change on the screen, and would otherwise say the
time every second.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from tui.i18n import _
from tui.widgets.spoken_time import SpokenTime

URGENT_SECONDS = 30
HURRY_SECONDS = (60, 10)
"""Seconds left at which a warning comes, each once, when the countdown passes it."""


def hurry_text(seconds: int) -> str:
    """The warning at one of `HURRY_SECONDS`."""
    if seconds == 60:
        return _("One minute left to sign.")
    return _("{n} seconds left to sign.").format(n=seconds)


def clock_text(seconds: int) -> str:
    """`m:ss` under an hour, `h:mm:ss` from an hour on, however many hours: never cut short."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


class Seconds(Widget):
    """Just the digits: the only part of the countdown that changes."""

    value: reactive[int] = reactive(0, layout=False)

    def watch_value(self, old: int, new: int) -> None:
        # As wide as its text: the layout is redone only when the width changes (10:00 -> 9:59).
        if len(clock_text(old)) != len(clock_text(new)):
            self.refresh(layout=True)

    def render(self) -> Content:
        return Content(clock_text(self.value))


class Countdown(Horizontal):
    """Shows the seconds left until `remaining()` reaches zero, then posts `Expired`."""

    SCOPED_CSS = False  # a rule starts at the app's class; each still names Countdown
    DEFAULT_CSS = """
    Countdown { height: 1; width: 100%; }
    Countdown > Static { width: auto; }
    Countdown > Seconds { width: auto; margin-left: 1; }
    Countdown > SpokenTime { display: none; }
    .-screen-reader Countdown > SpokenTime { display: block; }
    .-screen-reader Countdown > .countdown-label, .-screen-reader Countdown > Seconds {
        display: none;
    }
    """

    class Expired(Message):
        pass

    class Hurry(Message):
        """The time left passed one of `HURRY_SECONDS` (never said when shown below it)."""

        def __init__(self, seconds: int) -> None:
            super().__init__()
            self.seconds = seconds

    def __init__(
        self,
        remaining: Callable[[], float],
        *,
        interval: float = 0.2,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._remaining = remaining
        self._interval = interval
        self._timer: Timer | None = None
        self._warned = False
        self.seconds = -1

    def compose(self) -> ComposeResult:
        yield Static(_("Time left:"), classes="countdown-label", markup=False)
        yield Seconds()
        yield SpokenTime(self._remaining)

    def on_mount(self) -> None:
        self.tick()
        if self.seconds > 0:
            self._timer = self.set_interval(self._interval, self.tick)

    def tick(self) -> None:
        """Re-derive the seconds left; cheap, so it runs several times a second."""
        seconds = max(0, math.ceil(self._remaining()))
        if seconds == self.seconds:
            return
        before, self.seconds = self.seconds, seconds
        passed = [m for m in HURRY_SECONDS if before > m >= seconds > 0]
        if passed:  # the nearest end only, should a paused loop have skipped one
            self._warned = True
            self.post_message(self.Hurry(min(passed)))
        digits = self.query_one(Seconds)
        if digits.display:  # hidden in screen-reader mode: nothing to lay out again
            digits.value = seconds
        self.query_one(SpokenTime).tick()
        self.set_class(seconds <= URGENT_SECONDS, "-urgent")
        if seconds == 0:
            self.set_class(True, "-expired")
            self.stop()
            self.post_message(self.Expired())

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._warned:  # "10 seconds left" is no longer news, nor should it cover what is
            self._warned = False
            self.app.clear_notifications()
