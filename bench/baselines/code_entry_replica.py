"""The code-entry screen rebuilt from stock Textual widgets: what that screen costs in Textual.

Not a baseline with a target: it splits the start-up figure. Same layout as
`tui.screens.code_entry` (a title line, the explanation in one widget, an
Input and a counter, a status line, a line of keys), the app's two first
stylesheets, shown as the app's default screen as the app shows its first
step; none of the app's own modules, settings or services. Run as
`python -m bench.baselines.code_entry_replica [TEXT]`.
"""

from __future__ import annotations

import sys
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Static

from tui.resources import stylesheet

DEFAULT_TEXT = "Doğrulama Kodu"


class ReplicaScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.quit", "Back")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        yield Static(f"eonay · 1/6 · {self._text}", id="title-bar")
        yield Static(
            "Enter the 14-digit verification code.\n"
            "kamusm.gov.tr → Online İşlemler → E-imzalı Giriş\n\n"
            f"{self._text}",
            id="intro",
        )
        with Horizontal(id="code-row"):
            yield Input(id="code", placeholder="14")
            yield Static("0/14", id="count")
        yield Static("", id="status")
        yield Static(" Enter Continue  F1 Help  Ctrl+Q Quit", id="keys")


class ReplicaApp(App[None]):
    CSS_PATH: ClassVar = [stylesheet("app.tcss"), stylesheet("code_entry.tcss")]
    CSS = "#intro { height: auto; margin: 1 2 0 2; } #keys { dock: bottom; height: 1; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit"),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def get_default_screen(self) -> ReplicaScreen:
        return ReplicaScreen(self._text)


def main() -> None:
    ReplicaApp(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_TEXT).run()


if __name__ == "__main__":
    main()
