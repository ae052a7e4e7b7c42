"""The guide's steps as a table: each outcome on each step leads where the guide says."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.screens import values
from tui.core.card_info import Signature
from tui.core.results import EOnayAccepted, EOnayStatus, LoginAccepted, Session
from tui.flow import (
    BACK_ALLOWED,
    START,
    AlreadyActive,
    Back,
    CardGone,
    EOnayDone,
    EOnayStarted,
    Expired,
    Finish,
    FlowState,
    LoginDone,
    Restart,
    advance,
)
from tui.steps import Step

CLOCK = values.fake_clock()
LOGIN = values.challenge(CLOCK)
E_ONAY = values.challenge(CLOCK, purpose="e-onay", code="12345678901234")
CERT = values.certificate()
SIG = Signature(b"cms", datetime(2019, 11, 13, 8, 28, 16, tzinfo=UTC), CERT.fingerprint_sha256)
ACCEPTED = LoginAccepted(Session("s3cr3t"), values.holder(), e_onay_active=False)
LOGGED_IN = FlowState(login_challenge=LOGIN, certificate=CERT, login=ACCEPTED, login_signature=SIG)


def test_the_happy_path_follows_the_guide():
    move = advance(Step.CODE_ENTRY, START, LOGIN)
    assert move.step is Step.CERTIFICATE_SELECT and move.state.login_challenge is LOGIN
    move = advance(move.step, move.state, CERT)
    assert move.step is Step.LOGIN_PIN and move.state.certificate is CERT
    move = advance(move.step, move.state, LoginDone(SIG, ACCEPTED))
    assert move.step is Step.E_ONAY_CONFIRM and move.state.login is ACCEPTED
    move = advance(move.step, move.state, EOnayStarted(E_ONAY))
    assert move.step is Step.E_ONAY_PIN and move.state.pending_challenge is E_ONAY
    assert move.state.certificate is CERT  # the same certificate, preselected
    accepted = EOnayAccepted("EONAY-1", datetime(2019, 11, 13, 8, 31, tzinfo=UTC))
    move = advance(move.step, move.state, EOnayDone(SIG, accepted))
    assert move.step is Step.DONE
    assert move.state.receipt is not None
    assert move.state.receipt.reference == "EONAY-1"
    assert move.state.receipt.holder == "TEVFİK EDİS"
    assert not move.state.receipt.already_active
    assert advance(Step.DONE, move.state, Finish()).step is None


def test_already_active_after_login_goes_to_the_end():
    status = EOnayStatus(True, datetime(2019, 1, 2, tzinfo=UTC), "EONAY-OLD")
    active = replace(ACCEPTED, e_onay_active=True)
    state = FlowState(login_challenge=LOGIN, certificate=CERT)
    move = advance(Step.LOGIN_PIN, state, LoginDone(SIG, active, status))
    assert move.step is Step.DONE
    assert move.state.receipt is not None
    assert move.state.receipt.already_active and move.state.receipt.reference == "EONAY-OLD"


def test_already_active_when_starting_e_onay_goes_to_the_end():
    move = advance(Step.E_ONAY_CONFIRM, LOGGED_IN, AlreadyActive(None))
    assert move.step is Step.DONE
    assert move.state.receipt is not None and move.state.receipt.already_active


LOGGING_IN = FlowState(login_challenge=LOGIN, certificate=CERT)
SIGNING_E_ONAY = replace(LOGGED_IN, e_onay_challenge=E_ONAY)
DONE_STATE = replace(LOGGED_IN, receipt=None)

# The back-rule of every screen: one step back as the person sees the steps (issue 16, point 3).
BACK_RULES = [
    (Step.CODE_ENTRY, START, Step.CODE_ENTRY),  # nothing before the first step
    (Step.CERTIFICATE_SELECT, FlowState(login_challenge=LOGIN), Step.CODE_ENTRY),
    (Step.LOGIN_PIN, LOGGING_IN, Step.CERTIFICATE_SELECT),
    (Step.E_ONAY_CONFIRM, LOGGED_IN, Step.E_ONAY_CONFIRM),  # step 3 is signed: not again
    (Step.E_ONAY_PIN, SIGNING_E_ONAY, Step.E_ONAY_CONFIRM),  # 5 → 4, never to choosing again
    (Step.DONE, DONE_STATE, Step.DONE),
    # Choosing again for E-Onay (the card was pulled on step 5): back to step 4.
    (Step.CERTIFICATE_SELECT, SIGNING_E_ONAY, Step.E_ONAY_CONFIRM),
]


@pytest.mark.parametrize(("step", "state", "expected"), BACK_RULES)
def test_escape_goes_back_one_step_as_the_person_sees_them(step, state, expected):
    move = advance(step, state, Back())
    assert move.step is expected
    if step is not Step.CERTIFICATE_SELECT or state.login is None:
        assert move.step is step or move.step.number < step.number  # always backwards
    if move.step in (Step.CODE_ENTRY, Step.CERTIFICATE_SELECT, Step.LOGIN_PIN):
        assert move.state.login is None  # never behind a login that already happened
    if move.step is Step.E_ONAY_CONFIRM:
        assert move.state.e_onay_challenge is None  # step 4 asks for a new E-Onay text
        assert move.state.login is ACCEPTED


def test_every_screen_has_a_back_rule_and_the_key_bar_offers_back_only_where_it_moves():
    assert {step for step, _state, _to in BACK_RULES} == set(Step)
    moves = {step for step, state, to in BACK_RULES if to is not step}
    assert moves == BACK_ALLOWED


def test_going_back_from_certificate_select_drops_the_login_challenge():
    move = advance(Step.CERTIFICATE_SELECT, FlowState(login_challenge=LOGIN), Back())
    assert move.state.login_challenge is None


def test_choosing_again_during_e_onay_keeps_the_e_onay_challenge():
    state = replace(LOGGED_IN, e_onay_challenge=E_ONAY)
    move = advance(Step.E_ONAY_PIN, state, CardGone("kart çıkarıldı"))
    assert move.step is Step.CERTIFICATE_SELECT and move.state.message == "kart çıkarıldı"
    move = advance(move.step, move.state, CERT)
    assert move.step is Step.E_ONAY_PIN and move.state.pending_challenge is E_ONAY
    assert move.state.message is None  # a message is shown once


def test_expiry_on_login_starts_over_and_on_e_onay_returns_to_confirm():
    move = advance(Step.LOGIN_PIN, FlowState(login_challenge=LOGIN, certificate=CERT), Expired("x"))
    assert move.step is Step.CODE_ENTRY and move.state.login_challenge is None
    assert move.state.message == "x"
    state = replace(LOGGED_IN, e_onay_challenge=E_ONAY)
    move = advance(Step.E_ONAY_PIN, state, Expired("y"))
    assert move.step is Step.E_ONAY_CONFIRM and move.state.e_onay_challenge is None
    assert move.state.login is ACCEPTED


def test_restart_forgets_everything():
    move = advance(Step.DONE, LOGGED_IN, Restart("again"))
    assert move.step is Step.CODE_ENTRY
    assert move.state == FlowState(message="again")


@pytest.mark.parametrize(
    ("step", "state", "expected"),
    [
        (Step.CERTIFICATE_SELECT, FlowState(login_challenge=LOGIN), Step.CODE_ENTRY),
        (Step.LOGIN_PIN, LOGGING_IN, Step.CODE_ENTRY),
        (Step.CERTIFICATE_SELECT, SIGNING_E_ONAY, Step.E_ONAY_CONFIRM),
        (Step.E_ONAY_PIN, SIGNING_E_ONAY, Step.E_ONAY_CONFIRM),
    ],
)
def test_time_running_out_on_any_step_with_a_countdown_leads_to_a_new_start(step, state, expected):
    """Issue 16, point 2: wherever the time ends, a new code (before login) or a new E-Onay
    text (after it), with the one message the screen gave."""
    move = advance(step, state, Expired("over"))
    assert move.step is expected and move.state.message == "over"
    assert move.state.pending_challenge is None


def _screens():
    from tests.screens.test_snapshots import certificates, code_entry, done, e_onay_confirm
    from tests.screens.test_snapshots import pin_screen as pin

    return {
        Step.CODE_ENTRY: code_entry,
        Step.CERTIFICATE_SELECT: certificates,
        Step.LOGIN_PIN: pin("login"),
        Step.E_ONAY_CONFIRM: e_onay_confirm,
        Step.E_ONAY_PIN: pin("e-onay"),
        Step.DONE: done,
    }


@pytest.mark.parametrize("step", list(Step))
async def test_each_screen_offers_esc_back_exactly_where_the_back_rule_moves(step):
    """The key bar and the table agree: "Esc Back" on a screen as it opens iff Esc leads to
    another step (issue 16, point 3)."""
    from tests.screens.harness import ScreenHost, screen_text, settle

    app = ScreenHost(_screens()[step], "en")
    async with app.run_test() as pilot:
        await settle(pilot)
        key_bar = screen_text(app).splitlines()[-1]
        assert ("Esc Back" in key_bar) == (step in BACK_ALLOWED), key_bar
        if step in BACK_ALLOWED:
            await pilot.press("escape")
            await pilot.pause()
            assert app.results == [Back()]
