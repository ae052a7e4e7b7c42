"""The whole E-imzalı Giriş and E-Onay exchange: SoftHSM card, real client, simulator on loopback.

Every signature here is made on the session's SoftHSM token through the
card process (`CardProcessClient`, as the app does); the simulator checks it
with its own verifier, and OpenSSL must accept it too.
"""

from __future__ import annotations

import logging

import pytest

from tests.conftest import openssl_verify
from tests.portal_support import Sleeps
from tests.sim.signing import answer, sign_on_card
from tui.core.card.client import CardProcessClient
from tui.core.errors import (
    AlreadyActiveError,
    AlreadyUsedError,
    CodeExpiredError,
    HolderMismatchError,
    SignatureInvalidError,
)
from tui.core.portal.client import PortalClient
from tui.core.settings import Settings
from tui.core.text import LOGIN_TEXT, SignableText, check_signable
from tui.sim.server import RunningPortal
from tui.sim.state import E_ONAY_TEXT, mask_serial

pytestmark = pytest.mark.softhsm

AYSE = ("AYŞE GÜLŞEN ÇİFTÇİ", "RSA-2048")
ILKNUR = ("İLKNUR ÇAĞLAR", "EC-P384")
MEHMET = ("MEHMET ÖZTÜRK", "EC-P256")


def holder(softhsm_card, who):
    name, key_type = who
    return softhsm_card.holder(name, key_type=key_type, usable=True)


@pytest.mark.parametrize(
    ("who", "pss"),
    [(AYSE, False), (AYSE, True), (ILKNUR, False)],
    ids=["rsa-pkcs1", "rsa-pss", "ecdsa-p384"],
)
def test_login_then_e_onay_on_softhsm(sim: RunningPortal, client, softhsm_card, who, pss, caplog):
    caplog.set_level(logging.DEBUG)
    person = holder(softhsm_card, who)
    card = CardProcessClient([softhsm_card.module_path], pss=pss)
    try:
        # E-imzalı Giriş: the portal shows a code, the app reads the challenge and signs it.
        login = client.get_challenge(sim.new_login().code)
        assert login.purpose == "login" and check_signable(login.text) == LOGIN_TEXT
        login_signature = answer(card, softhsm_card, person, login)
        accepted = client.submit_login(login, login_signature)
        assert accepted.holder.name == person.name
        assert accepted.holder.serial == mask_serial(person.national_id)
        assert (
            accepted.holder.serial == person.national_id[:2] + "*******" + person.national_id[-2:]
        )
        assert accepted.e_onay_active is False
        assert client.e_onay_status(accepted.session).active is False

        # E-ONAY İşlemleri -> Devam Et: a new challenge with the consent text, signed the same way.
        consent = client.start_e_onay(accepted.session)
        assert consent.purpose == "e-onay" and consent.code != login.code
        assert consent.text == E_ONAY_TEXT and "\n\n" in consent.text
        assert check_signable(consent.text) == consent.text
        consent_signature = answer(card, softhsm_card, person, consent)
        receipt = client.submit_e_onay(consent, consent_signature)
    finally:
        card.close()

    assert receipt.reference.startswith("EONAY-")
    assert caplog.records and accepted.session.token not in caplog.text
    status = client.e_onay_status(accepted.session)
    assert status.active and status.reference == receipt.reference
    assert status.activated_at == receipt.activated_at

    # The portal's own record: E-Onay active, two signatures accepted.
    record = sim.state.holder(person.national_id)
    assert record is not None and record.e_onay_active and record.reference == receipt.reference
    for challenge, signature in ((login, login_signature), (consent, consent_signature)):
        stored = sim.state.challenge_record(challenge.code)
        assert stored is not None and stored.answer is not None
        assert stored.answer_cms == signature.cms
        assert openssl_verify(signature.cms, softhsm_card.root_pem) == challenge.text.encode()


def test_e_onay_already_active(sim, client, card, softhsm_card):
    person = holder(softhsm_card, ILKNUR)
    login = client.get_challenge(sim.new_login().code)
    session = client.submit_login(login, answer(card, softhsm_card, person, login)).session
    consent = client.start_e_onay(session)
    client.submit_e_onay(consent, answer(card, softhsm_card, person, consent))

    with pytest.raises(AlreadyActiveError) as info:
        client.start_e_onay(session)
    assert info.value.status == 409
    # A later login says so too.
    again = client.get_challenge(sim.new_login().code)
    assert client.submit_login(again, answer(card, softhsm_card, person, again)).e_onay_active


def test_e_onay_signed_by_another_holder(sim, client, card, softhsm_card):
    ayse, mehmet = holder(softhsm_card, AYSE), holder(softhsm_card, MEHMET)
    login = client.get_challenge(sim.new_login().code)
    session = client.submit_login(login, answer(card, softhsm_card, ayse, login)).session
    consent = client.start_e_onay(session)
    with pytest.raises(HolderMismatchError) as info:
        client.submit_e_onay(consent, answer(card, softhsm_card, mehmet, consent))
    assert info.value.status == 422
    assert not sim.state.holder(ayse.national_id).e_onay_active
    assert sim.state.holder(mehmet.national_id) is None  # never logged in
    # The right person can still answer the same challenge.
    client.submit_e_onay(consent, answer(card, softhsm_card, ayse, consent))
    assert sim.state.holder(ayse.national_id).e_onay_active


def test_same_cms_twice_is_the_same_200_and_another_cms_is_409(sim, client, card, softhsm_card):
    person = holder(softhsm_card, ILKNUR)
    login = client.get_challenge(sim.new_login().code)
    signature = answer(card, softhsm_card, person, login)
    first = client.submit_login(login, signature)
    second = client.submit_login(login, signature)
    assert second == first  # the same session token, holder and E-Onay state
    assert sim.state.session_count() == 1

    other = answer(card, softhsm_card, person, login)  # a new, equally valid signature
    assert other.cms != signature.cms
    with pytest.raises(AlreadyUsedError) as info:
        client.submit_login(login, other)
    assert info.value.status == 409


def test_signature_replayed_for_another_code(sim, client, card, softhsm_card):
    """Both codes ask for the same login text; only the nonce tells them apart."""
    person = holder(softhsm_card, AYSE)
    first = client.get_challenge(sim.new_login().code)
    second = client.get_challenge(sim.new_login().code)
    assert first.text == second.text and first.nonce != second.nonce
    signature = answer(card, softhsm_card, person, first)
    with pytest.raises(SignatureInvalidError) as info:
        client.submit_login(second, signature)
    assert "content-identifier" in info.value.portal_message
    assert client.submit_login(first, signature).holder.name == person.name


def test_signature_over_another_text(sim, client, card, softhsm_card):
    person = holder(softhsm_card, AYSE)
    challenge = client.get_challenge(sim.new_login().code)
    signature = sign_on_card(
        card, softhsm_card, person, "Başka bir metni onaylıyorum.", challenge.nonce
    )
    with pytest.raises(SignatureInvalidError) as info:
        client.submit_login(challenge, signature)
    assert info.value.status == 422
    assert "text" in info.value.portal_message


def test_signing_time_outside_the_window(sim, sim_clock, client, card, softhsm_card):
    """The portal's clock is an hour ahead: the card's signing-time is too early."""
    person = holder(softhsm_card, ILKNUR)
    sim_clock.advance(3600)
    challenge = client.get_challenge(sim.new_login().code)
    with pytest.raises(SignatureInvalidError) as info:
        client.submit_login(challenge, answer(card, softhsm_card, person, challenge))
    assert "signing-time" in info.value.portal_message


def test_code_expired_before_the_signature_arrived(sim, sim_clock, client, card, softhsm_card):
    person = holder(softhsm_card, ILKNUR)
    challenge = client.get_challenge(sim.new_login().code)
    signature = answer(card, softhsm_card, person, challenge)
    sim_clock.advance(301)
    with pytest.raises(CodeExpiredError) as info:
        client.submit_login(challenge, signature)
    assert info.value.status == 410


# --- faults around the signature: nothing lost, no new PIN ---------------------------


def test_dropped_connection_after_the_portal_accepted(sim, client, card, softhsm_card, sleeps):
    """The portal logs in and the answer is lost: the same CMS is posted again, no new PIN."""
    person = holder(softhsm_card, AYSE)
    challenge = client.get_challenge(sim.new_login().code)
    signature = answer(card, softhsm_card, person, challenge)
    sim.faults.drop_next_signature(1)
    accepted = client.submit_login(challenge, signature)
    assert sim.faults.drop_count == 0  # the fault happened
    assert sleeps == [0.5]  # one retry
    assert sim.state.session_count() == 1  # the retry did not log in twice
    assert sim.state.challenge_record(challenge.code).answer["session"] == accepted.session.token

    consent = client.start_e_onay(accepted.session)
    consent_signature = answer(card, softhsm_card, person, consent)
    sim.faults.drop_next_signature(1)
    receipt = client.submit_e_onay(consent, consent_signature)
    assert sim.state.holder(person.national_id).reference == receipt.reference


@pytest.mark.parametrize("status", [500, 503])
def test_signature_post_retried_after_5xx(sim, client, card, softhsm_card, sleeps, status):
    person = holder(softhsm_card, ILKNUR)
    challenge = client.get_challenge(sim.new_login().code)
    signature = answer(card, softhsm_card, person, challenge)
    sim.faults.fail_next(2, status)
    assert client.submit_login(challenge, signature).holder.name == person.name
    assert sleeps == [0.5, 1.0]


def test_a_lost_answer_can_be_fetched_again_even_after_expiry(
    sim, sim_clock, card, softhsm_card, sleeps: Sleeps
):
    """Retries exhausted (portal unreachable for a while): the app may post the same CMS later."""
    person = holder(softhsm_card, ILKNUR)
    with PortalClient(sim.url, sleep=sleeps) as portal:
        challenge = portal.get_challenge(sim.new_login().code)
        signature = answer(card, softhsm_card, person, challenge)
        sim.faults.drop_next_signature(3)
        with pytest.raises(Exception) as info:
            portal.submit_login(challenge, signature)
        assert info.value.code == "unreachable"
        sim_clock.advance(600)  # long after the code expired
        accepted = portal.submit_login(challenge, signature)
    assert accepted.session.token == sim.state.challenge_record(challenge.code).answer["session"]
    assert sim.state.session_count() == 1


def test_a_text_in_a_script_the_settings_allow_is_checked_once_and_signed_by_the_card_process(
    sim: RunningPortal, softhsm_card
):
    """The rule runs as the challenge arrives, with the settings' scripts; the card process
    takes the checked text as it is (it does not know the settings, and used to refuse it)."""
    text = "Καλημέρα κόσμε: bu metni onaylıyorum."
    code = sim.state.new_challenge("login", text=text).code
    person = holder(softhsm_card, AYSE)
    settings = Settings(portal_url=sim.url, text_scripts=("Greek",))
    card = CardProcessClient([softhsm_card.module_path])
    try:
        with PortalClient.from_settings(settings) as portal:
            challenge = portal.get_challenge(code)
            assert isinstance(challenge.text, SignableText) and challenge.text == text
            signature = answer(card, softhsm_card, person, challenge)
            accepted = portal.submit_login(challenge, signature)
    finally:
        card.close()
    assert accepted.holder.name == person.name
