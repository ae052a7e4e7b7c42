"""`Kalan süre: 5 dakika`: the time left in words, changed only when a person would say it.

A screen reader reads out whatever changes on a terminal's screen, and a
braille display shows it; a countdown's digits change every second. This line
changes when the PIN screen appears, then at 60, 30 and 10 seconds and when the
time is over, as plain mode says it (`tui.plain.announcer`, the same words from
the same catalogs). In screen-reader mode it stands in for the digits, so
between those moments nothing on the screen changes at all.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Static

from tui.plain.announcer import TimeAnnouncer, time_left_line


class SpokenTime(Static):
    """The time in words; `tick` says it again only at its moments."""

    def __init__(self, remaining: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__("", markup=False, id=id)
        self._announcer = TimeAnnouncer(remaining, self._say)
        self._line = ""

    def on_mount(self) -> None:
        if not self._line:
            self._announcer.announce_now()

    def tick(self) -> None:
        """Cheap and silent between the moments; the time over is said once.

        The first call says the time as it is (whichever of this and `on_mount`
        comes first): a screen shown with 45 seconds left says 45, not 60.
        """
        if not self._line:
            self._announcer.announce_now()
        if self._announcer.tick() is TimeAnnouncer.EXPIRED:
            self._say(time_left_line(0))

    def _say(self, line: str) -> None:
        if line != self._line:  # the same words again would change nothing on the screen
            self._line = line
            self.update(line)
