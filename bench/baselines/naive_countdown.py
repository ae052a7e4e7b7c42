"""A naive Textual countdown: a focused Input with a blinking cursor and a Static
re-rendered every second. What a PIN screen costs the terminal without care.

Run as `python -m bench.baselines.naive_countdown [SECONDS]`.
"""

from __future__ import annotations

import sys
import time

from textual.app import App, ComposeResult
from textual.widgets import Input, Static


class NaiveCountdown(App[None]):
    def __init__(self, seconds: int) -> None:
        super().__init__()
        self._deadline = time.monotonic() + seconds

    def compose(self) -> ComposeResult:
        yield Static("İmzalanacak Metin")
        yield Input(password=True, placeholder="PIN")
        yield Static(id="left")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._tick()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        left = max(0, round(self._deadline - time.monotonic()))
        self.query_one("#left", Static).update(f"Kalan süre: {left} sn")


def main() -> None:
    NaiveCountdown(int(sys.argv[1]) if len(sys.argv) > 1 else 300).run()


if __name__ == "__main__":
    main()
