"""Signing rules on the real SoftHSM token, with faults injected at the PKCS#11 boundary.

`SpyModule` wraps the real `Pkcs11Module` (and its sessions): it records every
call and can add what SoftHSM never does (PIN flags, a pulled card, a card that
returns garbage). Everything else is the real token.
"""

from __future__ import annotations

import dataclasses
import secrets

import pytest
from PyKCS11 import (
    CKF_USER_PIN_COUNT_LOW,
    CKF_USER_PIN_FINAL_TRY,
    CKF_USER_PIN_LOCKED,
    CKM_RSA_PKCS,
    CKM_SHA256_RSA_PKCS,
    CKM_SHA384_RSA_PKCS,
    CKM_SHA512_RSA_PKCS,
    CKR_DEVICE_REMOVED,
    CKR_MECHANISM_INVALID,
    CKR_PIN_LOCKED,
    CKR_TOKEN_NOT_PRESENT,
)

from tests.conftest import openssl_verify
from tests.portal_support import ShiftedClock
from tui.core import reasons
from tui.core.card.pkcs11 import CkError, Pkcs11Module
from tui.core.card.pkcs11_card import Pkcs11Card
from tui.core.errors import (
    CardRemovedError,
    CertificateChangedError,
    CertificateNotUsableError,
    MechanismNotSupportedError,
    PinIncorrectError,
    PinLengthError,
    PinLockedError,
    SignatureCheckError,
    TokenError,
)
from tui.core.pin import Pin
from tui.core.text import LOGIN_TEXT

pytestmark = pytest.mark.softhsm


class Spy:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.flags = 0  # added to the token's flags
        self.flags_after_failed_login = 0
        self.login_rv: int | None = None
        self.sign_rv: int | None = None
        self.hidden_mechanisms: set[int] = set()
        self.present = True
        self.corrupt_signature = False
        self.drop_context_pin = False

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


class SpySession:
    def __init__(self, inner, spy: Spy) -> None:
        self.inner = inner
        self.spy = spy

    def objects(self, object_class, **narrowed):
        return self.inner.objects(object_class, **narrowed)

    def objects_with_id(self, cka_id):
        return self.inner.objects_with_id(cka_id)

    def first_object(self, object_class, cka_id):
        return self.inner.first_object(object_class, cka_id)

    def object_again(self, found):
        return self.inner.object_again(found)

    def login(self, pin, *, context_specific=False):
        self.spy.calls.append(("login", context_specific))
        if self.spy.login_rv is not None:
            raise CkError(self.spy.login_rv, "C_Login")
        try:
            self.inner.login(pin, context_specific=context_specific)
        except CkError:
            self.spy.flags |= self.spy.flags_after_failed_login
            raise

    def sign(self, key, mechanism, data, *, pss=None, context_pin=None):
        self.spy.calls.append(("sign", mechanism, context_pin is not None))
        if self.spy.sign_rv is not None:
            raise CkError(self.spy.sign_rv, "C_SignInit")
        if self.spy.drop_context_pin:
            context_pin = None
        value = self.inner.sign(key, mechanism, data, pss=pss, context_pin=context_pin)
        if self.spy.corrupt_signature:
            value = value[:-1] + bytes([value[-1] ^ 1])
        return value

    def logout(self):
        self.spy.calls.append(("logout",))
        self.inner.logout()

    def close(self):
        self.spy.calls.append(("close",))
        self.inner.close()


class SpyModule(Pkcs11Module):
    def __init__(self, path: str, spy: Spy) -> None:
        super().__init__(path)
        self.spy = spy

    def slot_ids(self):
        return super().slot_ids() if self.spy.present else []

    def token(self, slot_id):
        self.spy.calls.append(("token",))
        if not self.spy.present:  # what a reader answers for its empty slot
            raise CkError(CKR_TOKEN_NOT_PRESENT, "C_GetTokenInfo")
        raw = super().token(slot_id)
        return dataclasses.replace(raw, flags=raw.flags | self.spy.flags)

    def mechanisms(self, slot_id):
        return super().mechanisms(slot_id) - self.spy.hidden_mechanisms

    def open_session(self, slot_id):
        self.spy.calls.append(("open",))
        return SpySession(super().open_session(slot_id), self.spy)


@pytest.fixture
def spy():
    return Spy()


@pytest.fixture
def spied(softhsm_card, spy):
    card = Pkcs11Card([softhsm_card.module_path], opener=lambda p: SpyModule(p, spy))
    yield card
    card.close()


def _cert(card, holder):
    return next(c for c in card.certificates() if c.id.hex() == holder.cert_id)


def _sign(card, cert, pin: Pin, text: str = LOGIN_TEXT):
    return card.sign(cert, pin, text, secrets.token_bytes(32))


def test_good_pin_logs_in_once_signs_logs_out_and_closes_every_session(
    spied, spy, softhsm_card, tmp_path
):
    cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    pin = Pin.from_str(softhsm_card.pin)
    sig = _sign(spied, cert, pin)
    assert len(pin) == 0
    names = spy.names()
    assert names.count("login") == 1
    assert names.index("login") < names.index("sign") < names.index("logout")
    assert names.count("open") == names.count("close")  # no session left behind
    assert openssl_verify(sig.cms, softhsm_card.root_pem, workdir=tmp_path) == LOGIN_TEXT.encode()


def test_wrong_pin_is_one_login_and_flags_are_read_afterwards(spied, spy, softhsm_card):
    cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    spy.calls.clear()
    pin = Pin.from_str("000000")
    with pytest.raises(PinIncorrectError) as caught:
        _sign(spied, cert, pin)
    assert caught.value.tries_left is None  # SoftHSM sets no PIN-count flags
    assert len(pin) == 0
    names = spy.names()
    assert names.count("login") == 1
    assert "token" in names[names.index("login") :]  # flags re-read after the failure
    assert "sign" not in names
    assert "000000" not in str(caught.value)


@pytest.mark.parametrize(
    ("flag", "tries_left"),
    [(CKF_USER_PIN_FINAL_TRY, 1), (CKF_USER_PIN_COUNT_LOW, None), (CKF_USER_PIN_LOCKED, 0)],
)
def test_wrong_pin_reports_tries_left_from_flags_after_the_failure(
    spied, spy, softhsm_card, flag, tries_left
):
    cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    spy.flags_after_failed_login = flag
    with pytest.raises(PinIncorrectError) as caught:
        _sign(spied, cert, Pin.from_str("999999"))
    assert caught.value.tries_left == tries_left
    assert spy.names().count("login") == 1


def test_locked_pin_is_refused_without_any_login(spied, spy, softhsm_card):
    cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    spy.flags = CKF_USER_PIN_LOCKED
    assert spied.pin_state(cert).locked
    listed = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    assert listed.reason == reasons.PIN_LOCKED and not listed.usable
    pin = Pin.from_str(softhsm_card.pin)
    with pytest.raises(PinLockedError):
        _sign(spied, cert, pin)
    assert "login" not in spy.names()
    assert len(pin) == 0


def test_final_try_is_shown_in_pin_state(spied, spy, softhsm_card):
    cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    spy.flags = CKF_USER_PIN_FINAL_TRY
    state = spied.pin_state(cert)
    assert state.final_try and state.tries_left == 1


def test_card_answering_pin_locked_at_login(spied, spy, softhsm_card):
    cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    spy.login_rv = CKR_PIN_LOCKED
    with pytest.raises(PinLockedError):
        _sign(spied, cert, Pin.from_str(softhsm_card.pin))
    assert spy.names().count("login") == 1


@pytest.mark.parametrize(
    ("name", "key_type", "reason"),
    [
        ("GÖKHAN YILDIZ", None, reasons.EXPIRED),
        ("ÜMİT GÜNEŞ", None, reasons.NOT_YET_VALID),
        ("İLKNUR ÇAĞLAR", "EC-P256", reasons.NOT_QUALIFIED),
    ],
)
def test_unusable_certificates_are_refused_before_login(
    spied, spy, softhsm_card, name, key_type, reason
):
    cert = _cert(spied, softhsm_card.holder(name, key_type=key_type))
    assert cert.reason == reason
    pin = Pin.from_str(softhsm_card.pin)
    with pytest.raises(CertificateNotUsableError) as caught:
        _sign(spied, cert, pin)
    assert caught.value.reason == reason
    assert "login" not in spy.names()
    assert len(pin) == 0


def test_a_certificate_that_changed_on_the_card_is_refused(spied, spy, softhsm_card):
    cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    other = _cert(spied, softhsm_card.holder("AYŞE GÜLŞEN ÇİFTÇİ"))
    swapped = dataclasses.replace(cert, der=other.der)
    with pytest.raises(CertificateChangedError):
        _sign(spied, swapped, Pin.from_str(softhsm_card.pin))
    assert "login" not in spy.names()


def test_pin_length_outside_the_token_range_is_refused_before_login(spied, spy, softhsm_card):
    cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    with pytest.raises(PinLengthError) as caught:
        _sign(spied, cert, Pin.from_str("12"))
    assert (caught.value.minimum, caught.value.maximum) == (4, 255)
    assert "login" not in spy.names()


def test_pulled_card_gives_card_removed(softhsm_card, spy):
    """Seen at the card service's next check (the last answer stands for a second)."""
    clock = ShiftedClock()
    spied = Pkcs11Card([softhsm_card.module_path], clock, opener=lambda p: SpyModule(p, spy))
    try:
        cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
        spy.present = False
        clock.advance(Pkcs11Card.POLL_INTERVAL)
        assert spied.certificates() == []
        assert spied.tokens() == []
        with pytest.raises(CardRemovedError):
            _sign(spied, cert, Pin.from_str(softhsm_card.pin))
        spy.present = True  # put back: found again, by serial and label, in fresh sessions
        _sign(spied, cert, Pin.from_str(softhsm_card.pin))
    finally:
        spied.close()


def test_card_removed_while_signing(spied, spy, softhsm_card):
    cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    spy.sign_rv = CKR_DEVICE_REMOVED
    with pytest.raises(CardRemovedError):
        _sign(spied, cert, Pin.from_str(softhsm_card.pin))
    names = spy.names()
    assert names.count("open") == names.count("close")


def test_card_returning_garbage_is_caught_by_the_self_check(spied, spy, softhsm_card):
    cert = _cert(spied, softhsm_card.holder("AYŞE GÜLŞEN ÇİFTÇİ"))
    spy.corrupt_signature = True
    with pytest.raises(SignatureCheckError):
        _sign(spied, cert, Pin.from_str(softhsm_card.pin))
    assert "logout" in spy.names()


def test_rsa_without_hash_mechanisms_signs_a_host_built_digest_info(
    spied, spy, softhsm_card, tmp_path
):
    spy.hidden_mechanisms = {CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS}
    for name in ("AYŞE GÜLŞEN ÇİFTÇİ", "ŞÜKRÜ DOĞAN"):
        cert = _cert(spied, softhsm_card.holder(name))
        sig = _sign(spied, cert, Pin.from_str(softhsm_card.pin))
        assert ("sign", CKM_RSA_PKCS, False) in spy.calls
        assert openssl_verify(sig.cms, softhsm_card.root_pem, workdir=tmp_path) == (
            LOGIN_TEXT.encode()
        )


def test_token_without_a_usable_rsa_mechanism(spied, spy, softhsm_card):
    cert = _cert(spied, softhsm_card.holder("AYŞE GÜLŞEN ÇİFTÇİ"))
    spy.hidden_mechanisms = {CKM_SHA256_RSA_PKCS, CKM_RSA_PKCS}
    with pytest.raises(MechanismNotSupportedError):
        _sign(spied, cert, Pin.from_str(softhsm_card.pin))
    assert "login" not in spy.names()


def test_mechanism_refused_by_the_card(spied, spy, softhsm_card):
    cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    spy.sign_rv = CKR_MECHANISM_INVALID
    with pytest.raises(MechanismNotSupportedError) as caught:
        _sign(spied, cert, Pin.from_str(softhsm_card.pin))
    assert caught.value.mechanism == "CKM_ECDSA"


def test_always_authenticate_key_gets_a_context_specific_login(spied, spy, softhsm_card, tmp_path):
    cert = _cert(spied, softhsm_card.holder("ÇAĞRI ŞAHİN"))
    sig = _sign(spied, cert, Pin.from_str(softhsm_card.pin))
    assert [c for c in spy.calls if c[0] == "sign"][-1][2] is True  # context PIN given
    assert openssl_verify(sig.cms, softhsm_card.root_pem, workdir=tmp_path) == LOGIN_TEXT.encode()
    # and the token really needs it: without the context-specific login C_Sign fails
    spy.drop_context_pin = True
    with pytest.raises(TokenError):
        _sign(spied, cert, Pin.from_str(softhsm_card.pin))


def test_a_token_left_logged_in_still_checks_this_pin(spied, spy, softhsm_card):
    from PyKCS11 import CKR_USER_ALREADY_LOGGED_IN

    cert = _cert(spied, softhsm_card.holder("MEHMET ÖZTÜRK"))
    spy.login_rv = CKR_USER_ALREADY_LOGGED_IN
    original = SpySession.login

    def once(self, pin, *, context_specific=False):
        try:
            return original(self, pin, context_specific=context_specific)
        finally:
            self.spy.login_rv = None  # only the first call finds the token logged in

    SpySession.login = once
    try:
        with pytest.raises(PinIncorrectError):
            _sign(spied, cert, Pin.from_str("000000"))
    finally:
        SpySession.login = original
    names = spy.names()
    logins = [i for i, name in enumerate(names) if name == "login"]
    assert len(logins) == 2  # the first did not check the PIN; the second did, once
    assert logins[0] < names.index("logout") < logins[1]
