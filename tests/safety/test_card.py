"""The card: re-read before signing; pulled out or swapped at every moment of the flow.

The real SoftHSM card does all the work; `tests.safety.boundary` makes it
behave like a card in a reader: pulled out (gone from the slot list, its
sessions answer CKR_DEVICE_REMOVED), put back (at a new slot id, old sessions
invalid) or another one put in. `boundary.stale` lists any stale handle the app
tried to use; it must stay empty.
"""

from __future__ import annotations

import secrets

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from textual.widgets import Static

from tests.safety import drive
from tests.safety.boundary import PULLED, PUT_BACK, Boundary
from tests.safety.conftest import HOLDER
from tests.screen_text import screen_text
from tui.core.errors import CardRemovedError, CertificateChangedError
from tui.core.pin import Pin
from tui.core.text import LOGIN_TEXT
from tui.screens.certificate_select import CertificateSelectScreen
from tui.screens.done import DoneScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.pin_entry import Phase
from tui.sim.softhsm import CARD_1, CARD_2

pytestmark = pytest.mark.softhsm

REMOVED = "The card was removed or cannot be reached"
OTHER_HOLDER = "İLKNUR ÇAĞLAR"  # EC P-384, qualified, on CARD_2


def message(pilot) -> str:
    """The message certificate select shows when the flow comes back to it."""
    found = pilot.app.screen.query("#message")
    return str(found.first(Static).render()) if found else ""


def der_of(holder) -> bytes:
    with open(holder.cert_pem, "rb") as f:
        return x509.load_pem_x509_certificate(f.read()).public_bytes(Encoding.DER)


def signed_after(boundary: Boundary, marker: str, token: str) -> bool:
    """A C_Sign on `token` in a session opened after `marker`, and no error since."""
    calls = boundary.since(marker, token)
    opened = [i for i, c in enumerate(calls) if c.function == "C_OpenSession" and c.token == token]
    signed = [i for i, c in enumerate(calls) if c.function == "C_Sign" and c.token == token]
    return bool(opened and signed and opened[0] < signed[-1])


async def test_the_certificate_is_read_again_and_must_be_byte_identical(rig, softhsm_card):
    """Another certificate under the same CKA_ID when Enter is pressed: back to certificate
    select with a message, no login; with the chosen one back, the signature goes through."""
    r = rig()
    chosen = softhsm_card.holder(HOLDER)
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        await drive.pin_screen(pilot)
        r.boundary.swapped[chosen.cert_id_bytes] = der_of(softhsm_card.holder("MEHMET ÖZTÜRK"))
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: drive.on(pilot, CertificateSelectScreen))
        await drive.until(pilot, lambda: "not the one you chose" in message(pilot))
        assert r.boundary.count("C_Login") == 0
        r.boundary.swapped.clear()
        await drive.choose(pilot, HOLDER)
        await drive.sign_with(pilot, softhsm_card.pin)
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 1


async def test_a_card_pulled_out_before_login(rig, softhsm_card):
    """Pulled while the PIN is typed: the screen notices; pulled just before Enter: the card
    service notices before C_Login. Put back (at another slot id), it signs."""
    r = rig(poll=0.1)
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        await drive.pin_screen(pilot)
        await pilot.press(*softhsm_card.pin[:2])
        r.boundary.pull(CARD_1)
        r.boundary.pull(CARD_2)
        await drive.until(pilot, lambda: drive.on(pilot, CertificateSelectScreen))
        await drive.until(pilot, lambda: REMOVED in message(pilot))
        await drive.until(pilot, lambda: "No card found" in screen_text(r.app))
        assert softhsm_card.module_path in screen_text(r.app)  # what to check
        r.boundary.put_back(CARD_1)
        await drive.choose(pilot, HOLDER)
        await drive.sign_with(pilot, softhsm_card.pin)
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 1
    assert signed_after(r.boundary, PUT_BACK, CARD_1)
    assert r.boundary.stale == []

    r = rig(poll=60.0)  # no presence poll: Enter is the first to meet the empty reader
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        screen = await drive.pin_screen(pilot)
        r.boundary.pull(CARD_1)
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: drive.on(pilot, CertificateSelectScreen))
        await drive.until(pilot, lambda: REMOVED in message(pilot))
        assert screen.phase is not Phase.SUBMITTING
    assert r.boundary.count("C_Login") == 0


async def test_a_card_pulled_out_during_signing(rig, softhsm_card):
    r = rig()
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        r.boundary.pull_at["C_Sign"] = CARD_1
        await drive.sign_with(pilot, softhsm_card.pin)
        await drive.until(pilot, lambda: drive.on(pilot, CertificateSelectScreen))
        await drive.until(pilot, lambda: REMOVED in message(pilot))
        assert r.http.posts("/signature") == []  # nothing was sent
        r.boundary.put_back(CARD_1)
        await drive.choose(pilot, HOLDER)  # the same code is still good: no new code needed
        await drive.sign_with(pilot, softhsm_card.pin)
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 2  # one per Enter
    assert signed_after(r.boundary, PUT_BACK, CARD_1)
    assert r.boundary.stale == []
    assert len(r.http.posts("/signature")) == 1


@pytest.mark.parametrize("moved", ["pulled", "put back", "certificate rewritten"])
def test_a_session_held_for_the_pin_is_never_used_past_a_change(
    softhsm_card, openssl_verify, moved
):
    """The PIN screen's `prepare` holds a session; when the card went out (and maybe came back
    at another slot id) or its certificate changed while the PIN was typed, Enter costs no PIN
    try and touches no stale handle; the next prepared signature goes through."""
    boundary = Boundary()
    card = boundary.card(softhsm_card.module_path)
    chosen = softhsm_card.holder(HOLDER)
    try:
        cert = next(c for c in card.certificates() if c.holder == HOLDER and c.usable)
        card.prepare(cert)
        if moved == "certificate rewritten":
            boundary.swapped[chosen.cert_id_bytes] = der_of(softhsm_card.holder("MEHMET ÖZTÜRK"))
        else:
            boundary.pull(CARD_1)
            if moved == "put back":
                boundary.put_back(CARD_1)
        error = CertificateChangedError if moved == "certificate rewritten" else CardRemovedError
        with pytest.raises(error):
            card.sign(cert, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, secrets.token_bytes(32))
        assert boundary.count("C_Login") == 0
        assert boundary.stale == []
        if moved == "certificate rewritten":  # the held session was let go
            assert boundary.count("C_CloseSession") == boundary.count("C_OpenSession")

        boundary.swapped.clear()
        if moved == "pulled":
            boundary.put_back(CARD_1)
        again = next(c for c in card.certificates() if c.holder == HOLDER and c.usable)
        card.prepare(again)
        signature = card.sign(again, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, bytes(32))
        assert openssl_verify(signature.cms, softhsm_card.root_pem) == LOGIN_TEXT.encode()
        assert boundary.count("C_Login") == 1
        assert boundary.stale == []
    finally:
        card.close()


async def test_a_card_pulled_out_after_signing_before_the_portal_answered(rig, softhsm_card):
    """The signature is made: it goes to the portal and the login goes through. The E-Onay
    signature needs the card again: the flow waits at certificate select, logged in."""
    r = rig()
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        r.sim.faults.latency = 2.0  # the sending phase lasts long enough to be seen
        r.boundary.pull_after["C_Sign"] = CARD_1
        screen = await drive.sign_with(pilot, softhsm_card.pin)
        await drive.until(pilot, lambda: screen.phase is Phase.SUBMITTING)
        assert PULLED in r.boundary.functions()
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
        r.sim.faults.latency = 0.0
        await drive.start_e_onay(pilot)
        await drive.until(pilot, lambda: drive.on(pilot, CertificateSelectScreen))
        await drive.until(pilot, lambda: REMOVED in message(pilot))
        r.boundary.put_back(CARD_1)
        await drive.choose(pilot, HOLDER)
        await drive.sign_with(pilot, softhsm_card.pin)
        await drive.until(pilot, lambda: drive.on(pilot, DoneScreen))
    assert r.boundary.count("C_Login") == 2
    gets = [path for method, path, _ in r.http.sent if method == "GET"]
    assert gets == [f"/api/v1/challenges/{code}"]  # one code for the whole flow
    assert r.boundary.stale == []


async def test_another_card_put_in(rig, softhsm_card):
    """The chosen card is swapped for another one: certificate select lists the new card's
    certificates, and signing with one of them works."""
    r = rig(poll=0.1)
    r.boundary.pull(CARD_2)  # one reader, holding CARD_1
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        await drive.pin_screen(pilot)
        r.boundary.pull(CARD_1)
        r.boundary.put_back(CARD_2)
        await drive.until(pilot, lambda: drive.on(pilot, CertificateSelectScreen))
        await drive.until(pilot, lambda: REMOVED in message(pilot))
        await drive.choose(pilot, OTHER_HOLDER)
        await drive.sign_with(pilot, softhsm_card.pin)
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
        assert OTHER_HOLDER in screen_text(r.app)
    assert r.boundary.count("C_Login") == 1
    assert r.boundary.count("C_Login", CARD_1) == 0
    assert r.boundary.stale == []


def test_no_stale_handle_survives_a_removal(softhsm_card, openssl_verify):
    """Card service level, real SoftHSM: after a removal during C_Sign the next signature opens
    new sessions at the token's new slot id and verifies; and the boundary does catch a stale
    session when one is used (so `stale == []` above means something)."""
    boundary = Boundary()
    card = boundary.card(softhsm_card.module_path)
    try:
        cert = next(c for c in card.certificates() if c.holder == HOLDER and c.usable)
        boundary.pull_at["C_Sign"] = CARD_1
        with pytest.raises(CardRemovedError):
            card.sign(cert, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, secrets.token_bytes(32))
        with pytest.raises(CardRemovedError):
            card.pin_state(cert)
        boundary.put_back(CARD_1)
        again = next(c for c in card.certificates() if c.holder == HOLDER and c.usable)
        assert again.token.slot_id != cert.token.slot_id  # readers renumber
        signature = card.sign(cert, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, bytes(32))
        assert openssl_verify(signature.cms, softhsm_card.root_pem) == LOGIN_TEXT.encode()
        assert signed_after(boundary, PUT_BACK, CARD_1)
        assert boundary.stale == []

        module = card._module(softhsm_card.module_path)
        old = module.open_session(again.token.slot_id)
        boundary.pull(CARD_1)
        boundary.put_back(CARD_1)
        with pytest.raises(Exception, match="SESSION_HANDLE_INVALID"):
            old.objects(1)
        assert boundary.stale  # the instrument sees a stale session
    finally:
        card.close()
