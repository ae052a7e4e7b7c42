"""The key bar: the keys the focused step answers to, kept current, and clickable."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input

from tests.screens.harness import screen_text
from tui.widgets.key_bar import KeyBar


class Field(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "app.help", "Continue", key_display="Enter")
    ]


class KeyHost(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", key_display="F1"),
        Binding("f2", "nothing", "Disabled", key_display="F2"),
        Binding("f3", "help", "Same action", key_display="F3"),
        Binding("ctrl+x", "help", "Hidden", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.helped = 0

    def compose(self) -> ComposeResult:
        yield Field(id="first")
        yield Input(id="second")
        yield KeyBar()

    def action_help(self) -> None:
        self.helped += 1

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action == "nothing" else True


def bottom_line(app: App[None]) -> str:
    return screen_text(app).splitlines()[-1]


async def test_shows_one_key_per_action_and_not_the_hidden_ones():
    app = KeyHost()
    async with app.run_test() as pilot:
        await pilot.pause()
        line = bottom_line(app)
        assert "F1 Help" in line
        assert "F2 Disabled" in line  # shown, dimmed
        assert "Same action" not in line and "Hidden" not in line
        bar = app.query_one(KeyBar)
        assert [k.display for k in bar.keys if not k.enabled] == ["F2"]


async def test_follows_the_focus():
    app = KeyHost()
    async with app.run_test() as pilot:
        app.query_one("#first", Input).focus()
        await pilot.pause()
        assert "Enter Continue" in bottom_line(app)
        app.query_one("#second", Input).focus()
        await pilot.pause()
        assert "Enter Continue" not in bottom_line(app)


async def test_a_click_on_a_key_presses_it_and_a_disabled_key_does_nothing():
    app = KeyHost()
    async with app.run_test() as pilot:
        app.query_one("#second", Input).focus()
        await pilot.pause()
        line = bottom_line(app)
        await pilot.click(KeyBar, offset=(line.index("F1") + 1, 0))
        await pilot.pause()
        assert app.helped == 1
        await pilot.click(KeyBar, offset=(line.index("F2") + 1, 0))
        await pilot.click(KeyBar, offset=(len(line) + 5, 0))  # past the last key
        await pilot.pause()
        assert app.helped == 1
