"""Idle screens and the card: at most one PKCS#11 call a second, however often screens ask.

The real app on the real SoftHSM card, through the watched boundary, with the
screens polling ten times a second. What crosses the boundary over a 5 s
window of nobody doing anything is counted. (A count over a window is a
behaviour, not a speed target: the window is real time, the bound follows it.)
"""

from __future__ import annotations

import time

import pytest

from tests.safety import drive
from tests.safety.boundary import PULLED, Call
from tests.safety.conftest import HOLDER
from tests.screen_text import screen_text
from tui.screens.certificate_select import CertificateSelectScreen
from tui.sim.softhsm import CARD_1

pytestmark = pytest.mark.softhsm

WINDOW = 5.0
POLL = 0.1  # the screens ask ten times a second


async def _idle_calls(pilot, boundary) -> tuple[list[Call], float]:
    await pilot.pause(1.5)  # past the screen's first reads
    start = len(boundary.calls)
    began = time.monotonic()
    await pilot.pause(WINDOW)
    elapsed = time.monotonic() - began
    return boundary.calls[start:], elapsed


def _bound(elapsed: float) -> int:
    """One call a second: the checks that fit in the window, counting one at each end."""
    return int(elapsed) + 1


async def test_an_idle_certificate_screen_makes_at_most_one_call_a_second(rig, softhsm_card):
    r = rig(poll=POLL)
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.until(pilot, lambda: isinstance(r.app.screen, CertificateSelectScreen))
        listing = r.app.screen.query_one("#certificates")
        await drive.until(pilot, lambda: len(listing.certificates) > 0)
        calls, elapsed = await _idle_calls(pilot, r.boundary)
        assert len(calls) <= _bound(elapsed), [c.function for c in calls]
        assert {c.function for c in calls} <= {"C_GetSlotList", "C_GetTokenInfo"}
        assert calls  # it did keep checking

        # and it still sees the card go
        r.boundary.pull(CARD_1)
        await drive.until(pilot, lambda: HOLDER not in screen_text(r.app))
    assert r.boundary.stale == []


async def test_an_idle_pin_screen_makes_at_most_one_call_a_second(rig, softhsm_card):
    r = rig(poll=POLL)
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        await drive.pin_screen(pilot)
        await pilot.press(*softhsm_card.pin[:2])
        calls, elapsed = await _idle_calls(pilot, r.boundary)
        assert len(calls) <= _bound(elapsed), [c.function for c in calls]
        assert {c.function for c in calls} <= {"C_GetSlotList", "C_GetTokenInfo"}
        assert calls

        r.boundary.pull(CARD_1)
        await drive.until(pilot, lambda: isinstance(r.app.screen, CertificateSelectScreen))
    assert PULLED in r.boundary.functions()
    assert r.boundary.count("C_Login") == 0
