"""`Pkcs11Card.reset()` on the real SoftHSM token: no session and no login survive it."""

from __future__ import annotations

import secrets

import pytest
from PyKCS11 import CKR_SESSION_HANDLE_INVALID, CKS_RO_PUBLIC_SESSION, CKS_RO_USER_FUNCTIONS

from tests.conftest import openssl_verify
from tui.core.card.pkcs11 import CkError, Pkcs11Module
from tui.core.card.pkcs11_card import Pkcs11Card
from tui.core.pin import Pin
from tui.core.text import LOGIN_TEXT

pytestmark = pytest.mark.softhsm


class Opened(list[Pkcs11Module]):
    """An opener that remembers the modules the card loaded."""

    def __call__(self, path: str) -> Pkcs11Module:
        module = Pkcs11Module(path)
        self.append(module)
        return module


def test_a_reset_ends_every_session_and_the_login_and_the_card_still_signs(softhsm_card):
    opened = Opened()
    card = Pkcs11Card([softhsm_card.module_path], opener=opened)
    try:
        tokens = card.tokens()
        [module] = opened
        # Sessions left open on each token, one of them logged in.
        left = [module.open_session(token.slot_id) for token in tokens]
        left[0].login(bytearray(softhsm_card.pin.encode()))
        assert left[0].state() == CKS_RO_USER_FUNCTIONS
        assert {s.state() for s in left[1:]} == {CKS_RO_PUBLIC_SESSION}

        card.reset()

        for session in left:
            with pytest.raises(CkError) as gone:
                session.state()
            assert gone.value.rv == CKR_SESSION_HANDLE_INVALID
        fresh = module.open_session(tokens[0].slot_id)
        try:
            assert fresh.state() == CKS_RO_PUBLIC_SESSION  # the login went with the sessions
        finally:
            fresh.close()

        # The module stays loaded and usable: the next person can sign.
        usable = next(c for c in card.certificates() if c.usable)
        nonce = secrets.token_bytes(32)
        signature = card.sign(usable, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, nonce)
        assert openssl_verify(signature.cms, softhsm_card.root_pem) == LOGIN_TEXT.encode()
    finally:
        card.close()


def test_a_reset_before_any_use_loads_nothing(softhsm_card):
    opened = Opened()
    card = Pkcs11Card([softhsm_card.module_path], opener=opened)
    card.reset()
    assert opened == []
    card.close()
