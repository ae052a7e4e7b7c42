"""The floor: a Textual countdown that repaints only its own digits, nothing else.

Not a baseline with a target; it shows, on this machine and this Textual,
what a 3-digit countdown costs at the least. Run as
`python -m bench.baselines.floor_countdown [SECONDS]`.
"""

from __future__ import annotations

import sys
import time

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static


class FloorCountdown(App[None]):
    CSS = "Horizontal { height: 1; } Horizontal > Static { width: auto; }"

    def __init__(self, seconds: int) -> None:
        super().__init__()
        self._deadline = time.monotonic() + seconds

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("Kalan süre: ")
            yield Static(id="left")
            yield Static(" sn")

    def on_mount(self) -> None:
        self._tick()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        left = max(0, round(self._deadline - time.monotonic()))
        self.query_one("#left", Static).update(f"{left:>3}")


def main() -> None:
    FloorCountdown(int(sys.argv[1]) if len(sys.argv) > 1 else 300).run()


if __name__ == "__main__":
    main()
