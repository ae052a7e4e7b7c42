"""A PIN field that never holds the PIN in a string.

Textual's Input keeps its value in a `str` (which cannot be wiped) and lets
ctrl+c / ctrl+x copy even a password to the clipboard, which also reaches the
terminal as OSC 52. This field keeps the digits in a `tui.core.pin.Pin`
(a bytearray), draws only mask characters, has no cursor to blink, and refuses
copy, cut and paste.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.geometry import Offset
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tui.core.pin import Pin
from tui.i18n import N_, _
from tui.widgets.terminal_cursor import follow

MASK = "*"
DIGITS = frozenset("0123456789")


class PinField(Widget, can_focus=True):
    """Digits typed here go straight into a bytearray; Enter asks to sign."""

    ALLOW_SELECT = False
    DEFAULT_CSS = """
    PinField { height: 1; width: 100%; }
    """
    BINDINGS = [  # noqa: RUF012 - Textual's class-level binding table
        Binding("backspace", "delete_digit", N_("Delete"), show=False),
        Binding("enter", "submit", N_("Sign"), key_display="Enter"),
        Binding(
            "ctrl+c,ctrl+x,ctrl+insert,shift+delete,super+c,super+x",
            "refuse_copy",
            show=False,
            priority=True,
        ),
    ]

    length: reactive[int] = reactive(0)

    class Submitted(Message):
        """Enter was pressed in the field."""

    class Refused(Message):
        """A copy, cut or paste was refused; the screen says why."""

        def __init__(self, what: str) -> None:
            super().__init__()
            self.what = what

    def __init__(
        self,
        max_length: int = 16,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.max_length = max_length
        self._pin = Pin()
        self.enter_text: str | None = None  # what Enter does when not signing (the screen says)

    def key_description(self, action: str) -> str | None:
        """For the key bar: "Sign", or what the screen set Enter to do first."""
        return self.enter_text if action == "submit" else None

    def say_enter_does(self, text: str | None) -> None:
        if text != self.enter_text:
            self.enter_text = text
            self.refresh_bindings()

    # --- what the screen uses ---------------------------------------------

    def add_digit(self, digit: str) -> bool:
        """Append one digit; False when the field is full or disabled."""
        if self.disabled or digit not in DIGITS or len(self._pin) >= self.max_length:
            return False
        self._pin.append(digit)
        self.length = len(self._pin)
        return True

    def delete_digit(self) -> None:
        self._pin.pop()
        self.length = len(self._pin)

    def clear(self) -> None:
        """Overwrite the digits and empty the field."""
        self._pin.wipe()
        self.length = 0

    def take(self) -> Pin:
        """Hand the PIN over (to be wiped after its one signature); the field is empty after."""
        pin, self._pin = self._pin, Pin()
        self.length = 0
        return pin

    # --- drawing ----------------------------------------------------------

    def watch_length(self) -> None:
        follow(self)

    @property
    def cursor_screen_offset(self) -> Offset:
        """After the last mask (one cell each): where the next digit shows."""
        region = self.content_region
        return Offset(region.x + self.length, region.y)

    def _on_focus(self, event: events.Focus) -> None:
        self.call_after_refresh(follow, self)  # once laid out: a screen focuses before that

    def render(self) -> Content:
        if self.length:
            return Content(MASK * self.length)
        return Content.styled(_("type the PIN"), "dim")

    # --- keys ---------------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        if event.character is not None and event.character in DIGITS:
            event.stop()
            event.prevent_default()
            if not self.add_digit(event.character):
                self.app.bell()

    def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()
        self.post_message(self.Refused("paste"))

    def action_delete_digit(self) -> None:
        self.delete_digit()

    def action_submit(self) -> None:
        self.post_message(self.Submitted())

    def action_refuse_copy(self) -> None:
        self.post_message(self.Refused("copy"))

    def on_unmount(self) -> None:
        self._pin.wipe()
