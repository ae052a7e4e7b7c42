"""Kiosk mode: nothing on the screen can be selected or copied to the terminal's clipboard.

A copy in Textual is an OSC 52 sequence written to the terminal, which puts
the text into the clipboard of the terminal (or of the machine it runs on),
where the next person at the kiosk finds it. The real app on the real SoftHSM
card and the simulator; what the app writes to the terminal is recorded at
the driver.
"""

from __future__ import annotations

import pytest

from tests.screens.harness import screen_text
from tests.screens.test_kiosk import HOLDER, log_in, make_app, on, one_holder_card  # noqa: F401
from tests.terminal_writes import record_writes
from tui.core.clock import FakeClock
from tui.screens.done import DoneScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen

OSC_52 = "\x1b]52;"


def where(app, text: str) -> tuple[int, int]:
    """The screen cell where `text` begins."""
    for y, line in enumerate(screen_text(app).splitlines()):
        x = line.find(text)
        if x >= 0:
            return x, y
    raise AssertionError(f"{text!r} is not on the screen")


async def try_to_copy(pilot, text: str) -> None:
    """Drag across `text`, double and triple click on it, then every copy key."""
    x, y = where(pilot.app, text)
    await pilot.mouse_down(offset=(x, y))
    await pilot.hover(offset=(x + len(text) // 2, y))
    await pilot.hover(offset=(x + len(text) - 1, y))
    await pilot.mouse_up(offset=(x + len(text) - 1, y))
    await pilot.pause()
    selected_by_drag = pilot.app.screen.get_selected_text()
    await pilot.press("ctrl+c", "super+c", "ctrl+insert")
    await pilot.click(offset=(x + 1, y), times=2)
    await pilot.click(offset=(x + 1, y), times=3)
    await pilot.press("ctrl+c")
    await pilot.pause()
    return selected_by_drag


@pytest.mark.parametrize("kiosk", [True, False])
async def test_a_kiosk_lets_nothing_be_selected_or_copied(
    kiosk,
    sim,
    one_holder_card,  # noqa: F811 (the fixture, imported)
    softhsm_card,
    monkeypatch,
):
    app = make_app(one_holder_card, sim, FakeClock(), kiosk=kiosk)
    async with app.run_test(size=(100, 30)) as pilot:
        written = record_writes(monkeypatch)

        await log_in(pilot, sim, softhsm_card.pin)
        await on(pilot, EOnayConfirmScreen)
        selected = await try_to_copy(pilot, HOLDER)
        if not kiosk:  # the same gestures do select and copy outside a kiosk
            assert selected and HOLDER[:10] in selected
            assert HOLDER[:10] in app.clipboard
            assert any(OSC_52 in data for data in written)
            return
        assert selected is None
        assert app.screen.get_selected_text() is None

        await pilot.press("enter", "enter")  # E-ONAY Operations, Continue
        await pilot.press(*softhsm_card.pin, "enter")
        await on(pilot, DoneScreen)
        reference = next(h.reference for h in sim.state.holders() if h.name == HOLDER)
        assert reference
        assert await try_to_copy(pilot, reference) is None
        assert app.screen.get_selected_text() is None

        app.copy_to_clipboard("anything at all")  # whatever a widget's own copy key calls
        assert app.clipboard == ""
        assert not any(OSC_52 in data for data in written)
