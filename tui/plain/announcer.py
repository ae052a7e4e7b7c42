"""The time left, said like a person would: when the PIN is asked, then at 60, 30 and 10 s.

Never every second. The seconds are derived from the challenge's deadline
each time (never counted down), so a slow card call cannot make them lie.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tui.i18n import _

MOMENTS = (60, 30, 10)
"""Seconds left at which the time is said again, each once."""


def spoken(seconds: int) -> str:
    """`4 minutes 32 seconds`, `1 minute`, `10 seconds`; Turkish and English from the catalogs."""
    minutes, secs = divmod(max(0, seconds), 60)
    parts = []
    if minutes:
        parts.append(_("1 minute") if minutes == 1 else _("{n} minutes").format(n=minutes))
    if secs or not minutes:
        parts.append(_("1 second") if secs == 1 else _("{n} seconds").format(n=secs))
    return " ".join(parts)


def time_left_line(seconds: int) -> str:
    return _("Time left:") + " " + spoken(seconds)


class TimeAnnouncer:
    """A `Ticker` for the PIN prompt: says the time at the moments, ends the wait at zero."""

    EXPIRED = "expired"

    def __init__(self, remaining: Callable[[], float], say: Callable[[str], None]) -> None:
        self._remaining = remaining
        self._say = say
        self._said: set[int] = set()

    def seconds(self) -> int:
        return max(0, math.ceil(self._remaining()))

    def announce_now(self) -> None:
        """The time as it is (the PIN prompt appears; an empty line asks for it)."""
        seconds = self.seconds()
        self._said.update(moment for moment in MOMENTS if moment >= seconds)
        self._say(time_left_line(seconds))

    def _next_moment(self) -> int:
        waiting = [moment for moment in MOMENTS if moment not in self._said]
        return max(waiting, default=0)

    def due_in(self) -> float:
        return max(0.0, self._remaining() - self._next_moment())

    def tick(self) -> object | None:
        if self._remaining() <= 0:
            return self.EXPIRED
        moment = self._next_moment()
        if moment and self._remaining() <= moment:
            self._said.update(m for m in MOMENTS if m >= moment)
            self._say(time_left_line(moment))
        return None
