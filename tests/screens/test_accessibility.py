"""The full-screen app for screen-reader and braille users: the terminal's cursor on the
focused field, and focus still visible in monochrome (NO_COLOR)."""

from __future__ import annotations

import pytest
from textual.geometry import Offset

from tests.screens.harness import settle
from tests.screens.test_pin_entry import fake_clock, make, pin_field, portal  # noqa: F401
from tui.app import EonayApp
from tui.core.clock import SystemClock
from tui.core.portal.client import PortalClient
from tui.core.services import ServiceFactories
from tui.core.settings import Settings
from tui.widgets.code_field import CodeField


def no_card() -> object:
    raise AssertionError("these tests never reach the card")


def code_entry_app(sim, sleeps) -> EonayApp:
    """The app itself, on its first screen (the simulator behind it; no card needed)."""
    client = PortalClient(sim.url, sleep=sleeps)
    services = ServiceFactories(
        card=no_card,  # type: ignore[arg-type]
        portal=lambda: client,
        clock=SystemClock(),
    )
    return EonayApp(services, Settings(language="en"))


async def test_the_terminal_cursor_follows_the_code_fields_cursor(sim, sleeps):
    app = code_entry_app(sim, sleeps)
    async with app.run_test() as pilot:
        await settle(pilot)
        field = app.screen.query_one(CodeField)
        start = field.content_region
        assert app.cursor_position == Offset(start.x, start.y)
        await pilot.press("4", "9", "5")
        assert app.cursor_position == Offset(start.x + 3, start.y)
        await pilot.press("left")
        assert app.cursor_position == Offset(start.x + 2, start.y)


async def test_the_terminal_cursor_follows_the_pin_field(make, softhsm_card):  # noqa: F811
    s = make()
    async with s.app.run_test() as pilot:
        await settle(pilot)
        field = pin_field(s.app)
        start = field.content_region
        assert s.app.cursor_position == Offset(start.x, start.y)
        await pilot.press(*softhsm_card.pin[:4])
        assert s.app.cursor_position == Offset(start.x + 4, start.y)


@pytest.mark.parametrize("no_color", [True, False])
async def test_focus_shows_in_monochrome(sim, sleeps, monkeypatch, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = code_entry_app(sim, sleeps)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert app.no_color is no_color
        field = app.screen.query_one(CodeField)
        assert field.has_focus
        kind = field.styles.border_top[0]
        if no_color:  # the shape and the weight say it, not a colour the filter flattens
            assert kind == "double" and field.styles.text_style.bold
        else:
            assert kind == "solid"
