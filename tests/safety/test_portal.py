"""The portal's faults at the app level: nothing lost, no PIN asked twice, nothing signed late.

The real simulator over loopback HTTP produces each fault (`tui.sim.faults`);
the client's own behaviour under each one is proven in tests/core/test_portal.py
and tests/sim; here the whole app runs on the real SoftHSM card, and the PKCS#11
boundary counts the C_Login calls.
"""

from __future__ import annotations

import httpx
import pytest

from tests.safety import drive
from tests.safety.conftest import HOLDER
from tui.screens.certificate_select import CertificateSelectScreen
from tui.screens.code_entry import CodeEntryScreen
from tui.screens.done import DoneScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.pin_entry import Phase, PinEntryScreen
from tui.widgets.pin_field import PinField

pytestmark = pytest.mark.softhsm


def same(bodies: list[bytes]) -> bool:
    return len(set(bodies)) == 1


async def test_a_lost_answer_is_posted_again_and_the_flow_goes_on_without_a_new_pin(
    rig, softhsm_card
):
    """Login: the portal accepts the signature and the connection drops; the client posts the same
    CMS again by itself. E-Onay: every answer is lost until the tries run out; "Send again" posts
    the same CMS once more. One C_Login per signature, all the way."""
    r = rig()
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        r.sim.faults.drop_next_signature(1)
        await drive.sign_with(pilot, softhsm_card.pin)
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
        logins = r.http.posts("/signature")
        assert len(logins) == 2 and same(logins)
        assert r.boundary.count("C_Login") == 1

        await drive.start_e_onay(pilot)
        r.sim.faults.drop_next_signature(3)
        screen = await drive.sign_with(pilot, softhsm_card.pin)
        await drive.until(pilot, lambda: screen.phase is Phase.RESEND)
        assert "cannot be reached" in drive.status(pilot)
        await pilot.press("escape")  # going back would throw the signature away: not now
        assert pilot.app.screen is screen and screen.phase is Phase.RESEND
        await pilot.press("enter")  # "Send again" has the focus
        await drive.until(pilot, lambda: drive.on(pilot, DoneScreen))
    e_onays = r.http.posts("/signature")[2:]
    assert len(e_onays) == 4 and same(e_onays)  # three tries, then the one "Send again"
    assert r.boundary.count("C_Login") == 2
    assert r.boundary.count("C_Sign") == 2


@pytest.mark.parametrize("fault", ["malformed_json", "wrong_content_type", "oversized"])
async def test_a_broken_answer_to_the_signature_keeps_the_signature(rig, softhsm_card, fault):
    """The portal processed the signature but its answer cannot be read: the app says so and
    offers to send the same signature again, which the portal answers properly."""
    r = rig()
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        await drive.pin_screen(pilot)
        r.sim.faults.update({fault: 1})
        screen = await drive.sign_with(pilot, softhsm_card.pin)
        await drive.until(pilot, lambda: screen.phase is not Phase.SIGNING and screen.signature)
        await drive.settled(pilot, screen)
        assert "could not be understood" in drive.status(pilot)
        assert screen.phase is Phase.RESEND
        await pilot.press("enter")
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    posts = r.http.posts("/signature")
    assert len(posts) == 2 and same(posts)
    assert r.boundary.count("C_Login") == 1


async def test_a_challenge_that_runs_out_while_the_pin_is_typed_is_not_signed(rig, softhsm_card):
    """The deadline comes from the app's own monotonic clock: when it passes, whether the
    countdown noticed yet or not, the PIN is dropped and the card is never asked."""
    r = rig()
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        screen = await drive.pin_screen(pilot)
        await pilot.press(*softhsm_card.pin)
        r.clock.advance(301)  # the simulator's clock does not move: only the app knows
        await pilot.press("enter")  # before the countdown's next tick
        assert screen.phase is Phase.EXPIRED
        assert "Nothing was signed" in drive.status(pilot)
        assert screen.query_one(PinField).length == 0
        await pilot.press(*softhsm_card.pin, "enter")
        await pilot.pause(0.3)
        assert screen.phase is Phase.EXPIRED

        # The same with the countdown noticing first, on a fresh code.
        await pilot.press("enter")  # "Start again"
        await drive.until(pilot, lambda: drive.on(pilot, CodeEntryScreen))
        fresh = r.sim.new_login().code
        r.clock.offset = 0
        await drive.enter_code(pilot, fresh)
        await drive.choose(pilot, HOLDER)
        screen = await drive.pin_screen(pilot)
        await pilot.press(*softhsm_card.pin[:4])
        r.clock.advance(301)
        await drive.until(pilot, lambda: screen.phase is Phase.EXPIRED)
        assert screen.query_one(PinField).length == 0
    assert r.boundary.count("C_Login") == 0
    assert r.boundary.count("C_Sign") == 0
    assert r.http.posts("/signature") == []


async def test_portal_faults_at_code_entry_keep_the_code(rig):
    """Each fault on the challenge GET gives its own clear message on the code entry screen and
    keeps the code typed; once the portal is well, the same code goes through."""
    r = rig(timeout=httpx.Timeout(2.0, read=0.3))
    code = r.sim.new_login().code
    faults = [
        ({"fail_next": 3, "fail_status": 503}, "problem right now"),
        ({"fail_next": 3, "fail_status": 500}, "problem right now"),
        ({"malformed_json": 1}, "could not be understood"),
        ({"wrong_content_type": 1}, "could not be understood"),
        ({"oversized": 1}, "could not be understood"),
        ({"oversized": 1, "oversized_chunked": True}, "could not be understood"),
        # last: the simulator still answers the timed-out tries after the client gave up,
        # and such a late answer would use up the next counted fault
        ({"latency": 0.6}, "did not answer in time"),
    ]
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.until(pilot, lambda: drive.on(pilot, CodeEntryScreen))
        field = r.app.screen.query_one("#code")
        field.insert_text_at_cursor(code)
        for switches, message in faults:
            r.sim.faults.reset()
            r.sim.faults.update(switches)
            await pilot.press("enter")
            await drive.until(pilot, lambda: not field.disabled)
            assert message in drive.status(pilot), (switches, drive.status(pilot))
            assert field.value == code
        r.sim.faults.reset()
        await pilot.press("enter")
        await drive.until(pilot, lambda: drive.on(pilot, CertificateSelectScreen))
    assert r.sleeps  # the 5xx and the time-outs were retried, with pauses
    assert not any(isinstance(s, PinEntryScreen) for s in r.app.screen_stack)
