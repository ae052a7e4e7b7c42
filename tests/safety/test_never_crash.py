"""Never crash: an unexpected exception in a worker shows a reference, is logged redacted, and
the app goes on (the flow can be finished). The card and the portal are the real ones; the
bug is raised at their boundary."""

from __future__ import annotations

import re

import pytest

from tests.safety import drive
from tests.safety.conftest import HOLDER
from tests.screen_text import screen_text
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.pin_entry import Phase, PinEntryScreen

pytestmark = pytest.mark.softhsm

SECRETS = ("s3cr3t-token", "abc.def", "13647283944")


def bug() -> RuntimeError:
    """A bug whose message carries things that must never reach a log as they are."""
    return RuntimeError("driver bug: session=s3cr3t-token Bearer abc.def holder 13647283944")


async def test_a_bug_at_the_card_shows_a_reference_and_the_app_goes_on(
    rig, softhsm_card, debug_log
):
    log_file, _raw = debug_log
    r = rig()
    r.boundary.crash_at["C_Sign"] = bug()
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        screen = await drive.log_in(pilot, code, HOLDER, softhsm_card.pin)
        dialog = await drive.error_dialog(pilot)
        reference = dialog.reference
        assert re.fullmatch(r"E-[0-9A-F]{6}", reference)
        assert reference in screen_text(r.app)
        await pilot.press("enter")  # Continue
        await drive.until(pilot, lambda: r.app.screen is screen and screen.phase is Phase.TYPING)
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert [type(e) for e in r.unexpected] == [RuntimeError]
    assert r.boundary.count("C_Login") == 2  # the one that met the bug, and the new Enter
    entries = [line for line in log_file.read_text().splitlines() if reference in line]
    assert len(entries) == 1 and "RuntimeError" in entries[0]
    for secret in (*SECRETS, softhsm_card.pin):
        assert secret not in log_file.read_text()


async def test_a_bug_at_the_portal_keeps_the_signature(rig, softhsm_card, debug_log):
    """A bug while the signature is being sent: after the error screen the same signature is
    offered again ("Send again"), no PIN is asked."""
    log_file, _raw = debug_log
    r = rig()
    r.http.crash_at["/signature"] = bug()
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        screen = await drive.log_in(pilot, code, HOLDER, softhsm_card.pin)
        dialog = await drive.error_dialog(pilot)
        reference = dialog.reference
        await pilot.press("enter")
        await drive.until(pilot, lambda: r.app.screen is screen)
        assert isinstance(r.app.screen, PinEntryScreen) and screen.phase is Phase.RESEND
        await drive.until(pilot, lambda: getattr(r.app.focused, "id", None) == "next-action")
        await pilot.press("enter")  # "Send again"
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 1
    assert len(r.http.posts("/signature")) == 2
    text = log_file.read_text()
    assert reference in text
    for secret in (*SECRETS, softhsm_card.pin):
        assert secret not in text
