"""How many PKCS#11 calls a listing and a signature make, on the real SoftHSM token.

Every call eonay makes is counted where it is made (`Pkcs11Module.calls`);
the objects are counted independently, by a bare PyKCS11 search.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import PyKCS11
import pytest

from tests.conftest import openssl_verify
from tui.core.card.pkcs11 import Pkcs11Module
from tui.core.card.pkcs11_card import Pkcs11Card
from tui.core.pin import Pin
from tui.core.text import LOGIN_TEXT
from tui.sim.pki import default_root_pem

pytestmark = pytest.mark.softhsm

# Per token: C_OpenSession, three searches (certificates, private keys, public keys) of
# C_FindObjectsInit, two C_FindObjects, C_FindObjectsFinal each, C_CloseSession.
PER_TOKEN = 1 + 3 * 4 + 1
# A signature after the first on a token: C_GetSlotList (every slot) and one C_GetSlotInfo
# per slot (for CKF_TOKEN_PRESENT), C_GetTokenInfo, C_OpenSession, the certificate by
# CKA_ID (a search of 4 calls, and its value), C_Login, the private key by CKA_ID (a search
# that ends with the first batch holding it: 3, and its flags), C_SignInit, C_Sign,
# C_Logout, C_CloseSession: 17 and the slots (was 32).
# The first on a token also asks the mechanisms (2).
SIGNATURE = 1 + 1 + 1 + 5 + 1 + 4 + 1 + 1 + 1 + 1
# After `prepare` (the PIN screen opened): is the token still in its slot, with which flags
# (C_GetSlotList, C_GetTokenInfo), the certificate's value by the handle the held session
# found it with, C_Login, the private key (3 + its flags), C_SignInit, C_Sign; then
# C_Logout and C_CloseSession.
PREPARED_SIGNATURE = {
    "C_GetSlotList": 1,
    "C_GetTokenInfo": 1,
    "C_GetAttributeValue": 2,
    "C_Login": 1,
    "C_FindObjectsInit": 1,
    "C_FindObjects": 1,
    "C_FindObjectsFinal": 1,
    "C_SignInit": 1,
    "C_Sign": 1,
    "C_Logout": 1,
    "C_CloseSession": 1,
}


@pytest.fixture
def counted(softhsm_card) -> Iterator[tuple[Pkcs11Card, list[Pkcs11Module]]]:
    modules: list[Pkcs11Module] = []

    def opener(path: str) -> Pkcs11Module:
        module = Pkcs11Module(path)
        modules.append(module)
        return module

    card = Pkcs11Card([softhsm_card.module_path], opener=opener)
    yield card, modules
    card.close()


def _bare_object_count(module_path: str, slots: list[int]) -> int:
    """Certificates and keys on the tokens, as a plain PyKCS11 loop sees them."""
    lib = PyKCS11.PyKCS11Lib()
    lib.load(module_path)
    total = 0
    for slot in slots:
        session = lib.openSession(slot)
        try:
            for object_class in (
                PyKCS11.CKO_CERTIFICATE,
                PyKCS11.CKO_PRIVATE_KEY,
                PyKCS11.CKO_PUBLIC_KEY,
            ):
                total += len(session.findObjects([(PyKCS11.CKA_CLASS, object_class)]))
        finally:
            session.closeSession()
    return total


def test_a_listing_reads_each_object_with_one_call(counted, softhsm_card):
    card, modules = counted
    certificates = card.certificates()
    assert certificates
    (module,) = modules
    calls = dict(module.calls)
    slots = sorted({c.token.slot_id for c in certificates})
    objects = _bare_object_count(softhsm_card.module_path, slots)
    assert objects > len(certificates)  # keys were read too
    assert calls["C_GetAttributeValue"] == objects
    every_slot = calls["C_GetTokenInfo"]  # SoftHSM adds an empty slot: asked, not opened
    assert calls["C_GetSlotInfo"] == every_slot  # presence from each slot's flags
    bound = 1 + 2 * every_slot + PER_TOKEN * len(slots) + objects
    assert sum(calls.values()) <= bound, calls


def test_a_signature_re_reads_only_what_safety_needs(counted, softhsm_card):
    card, modules = counted
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    cert = next(c for c in card.certificates() if c.id.hex() == holder.cert_id)
    (module,) = modules
    for first in (True, False):
        module.calls.clear()
        card.sign(cert, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, secrets.token_bytes(32))
        calls = dict(module.calls)
        assert calls["C_Login"] == 1 and calls["C_Sign"] == 1
        assert calls["C_GetAttributeValue"] == 2  # the certificate's value, the key's flags
        assert calls.get("C_GetMechanismList", 0) == (2 if first else 0)
        slots = calls["C_GetSlotInfo"]
        assert calls["C_GetSlotList"] == 1
        assert sum(calls.values()) <= SIGNATURE + slots + (2 if first else 0), calls


def test_a_prepared_signature_crosses_only_for_safety_and_the_signature(counted, softhsm_card):
    """The PIN screen's `prepare` holds a session with the certificate found in it: Enter
    then costs the checks safety needs and the signature, and the session is let go."""
    card, modules = counted
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    cert = next(c for c in card.certificates() if c.id.hex() == holder.cert_id)
    (module,) = modules
    for _ in range(2):  # the E-Onay signature is prepared again, on its own PIN screen
        module.calls.clear()
        told: dict[str, int] = {}

        def state_read(_state: object, seen: dict[str, int] = told) -> None:
            seen.update(module.calls)

        state = card.prepare(cert, on_state=state_read)
        assert not state.locked
        # The PIN screen has its answer after the token's info; the session opens after it.
        assert set(told) == {"C_GetSlotList", "C_GetSlotInfo", "C_GetTokenInfo"}
        assert told["C_GetSlotList"] == 1 and told["C_GetTokenInfo"] == 1
        assert module.calls["C_OpenSession"] == 1 and "C_Login" not in module.calls
        module.calls.clear()
        at_answer: dict[str, int] = {}

        def answered(_signature: object, seen: dict[str, int] = at_answer) -> None:
            seen.update(module.calls)

        nonce = secrets.token_bytes(32)
        signature = card.sign(
            cert,
            Pin.from_str(softhsm_card.pin),
            LOGIN_TEXT,
            nonce,
            on_signed=answered,
        )
        assert dict(module.calls) == PREPARED_SIGNATURE
        # The answer goes before the session is ended: C_Logout and C_CloseSession follow it.
        assert at_answer == {
            k: v for k, v in PREPARED_SIGNATURE.items() if k not in ("C_Logout", "C_CloseSession")
        }
        assert openssl_verify(signature.cms, default_root_pem()) == LOGIN_TEXT.encode()


def test_a_prepared_session_is_let_go_when_no_signature_comes(counted, softhsm_card):
    card, modules = counted
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    cert = next(c for c in card.certificates() if c.id.hex() == holder.cert_id)
    (module,) = modules
    for leave in (card.release, card.certificates, card.reset):
        module.calls.clear()
        card.prepare(cert)
        leave()
        assert module.calls["C_OpenSession"] == 1
        assert module.calls["C_CloseSession"] + module.calls["C_CloseAllSessions"] >= 1, leave
        module.calls.clear()
        card.release()  # nothing held any more: nothing to close twice
        assert "C_CloseSession" not in module.calls


def test_each_idle_check_of_the_card_is_one_call(softhsm_card):
    """An idle screen asks every second; each check is one PKCS#11 call, whatever it looks
    at in turn (the list of every slot, an empty slot's flag, a token's info)."""
    from datetime import UTC, datetime

    from tui.core.clock import FakeClock

    clock = FakeClock(wall=datetime.now(UTC))
    modules: list[Pkcs11Module] = []

    def opener(path: str) -> Pkcs11Module:
        module = Pkcs11Module(path)
        modules.append(module)
        return module

    card = Pkcs11Card([softhsm_card.module_path], clock, opener=opener)
    try:
        assert card.certificates()
        (module,) = modules
        seen: set[str] = set()
        for _ in range(8):
            clock.advance(Pkcs11Card.POLL_INTERVAL)
            module.calls.clear()
            card.tokens()
            assert sum(module.calls.values()) == 1, dict(module.calls)
            seen.update(module.calls)
        assert {"C_GetSlotList", "C_GetTokenInfo"} <= seen  # the checks take turns
    finally:
        card.close()
