"""A bare Textual app with one Static: the floor for start-up, first paint and memory.

Run as `python -m bench.baselines.bare_static [TEXT]`.
"""

from __future__ import annotations

import sys

from textual.app import App, ComposeResult
from textual.widgets import Static

DEFAULT_TEXT = "Doğrulama Kodu"


class BareApp(App[None]):
    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        yield Static(self._text)


def main() -> None:
    BareApp(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_TEXT).run()


if __name__ == "__main__":
    main()
