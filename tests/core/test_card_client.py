"""`CardProcessClient`: the same card service as `Pkcs11Card`, with the driver in a card process."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.conftest import openssl_verify
from tests.shims import FAULTY_SIGN_C, FaultyDriver, compile_module
from tui.core.card.client import CardDeadlines, CardProcessClient
from tui.core.card.protocol import MAX_PIN_BYTES
from tui.core.errors import (
    CardDriverHungError,
    CardDriverStoppedError,
    ModuleLoadError,
    PinIncorrectError,
    PinLengthError,
)
from tui.core.pin import Pin
from tui.core.settings import Settings
from tui.core.text import LOGIN_TEXT

pytestmark = pytest.mark.softhsm

HOLDER = "AYŞE GÜLŞEN ÇİFTÇİ"


@pytest.fixture
def client(softhsm_card):
    made = CardProcessClient([softhsm_card.module_path])
    yield made
    made.close()


def usable(certs, holder=HOLDER):
    return next(c for c in certs if c.holder == holder and c.usable)


def test_it_lists_what_the_card_lists_in_process(client, card):
    assert client.tokens() == card.tokens()
    assert client.certificates() == card.certificates()
    cert = usable(client.certificates())
    assert client.pin_state(cert) == card.pin_state(cert)
    assert client.module_paths() == card.module_paths()


def test_it_signs_and_wipes_the_pin(client, softhsm_card):
    cert = usable(client.certificates())
    pin = Pin.from_str(softhsm_card.pin)
    signature = client.sign(cert, pin, LOGIN_TEXT, b"nonce-1")
    assert len(pin) == 0
    assert openssl_verify(signature.cms, softhsm_card.root_pem) == LOGIN_TEXT.encode()
    assert signature.certificate_fingerprint == cert.fingerprint_sha256

    wrong = Pin.from_str("739147")
    with pytest.raises(PinIncorrectError):
        client.sign(cert, wrong, LOGIN_TEXT, b"nonce-2")
    assert len(wrong) == 0


def test_a_prepared_signature_is_answered_and_its_session_ended_before_the_next(
    client, softhsm_card
):
    """`prepare` holds a session in the card process; the signature comes back before
    C_Logout, and each later request finds it logged out and closed: a second prepared
    signature (E-Onay), a wrong PIN, and a release with nothing held all behave."""
    cert = usable(client.certificates())
    for nonce in (b"nonce-1", b"nonce-2"):
        assert client.prepare(cert) == client.pin_state(cert)
        signature = client.sign(cert, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, nonce)
        assert openssl_verify(signature.cms, softhsm_card.root_pem) == LOGIN_TEXT.encode()
    client.prepare(cert)
    with pytest.raises(PinIncorrectError):  # checked by the card, as the first
        client.sign(cert, Pin.from_str("739147"), LOGIN_TEXT, b"nonce-3")
    client.prepare(cert)
    client.release()
    client.release()
    assert client.pid is not None


def test_a_module_that_does_not_load_is_told_like_in_process(softhsm_card, tmp_path):
    missing = str(tmp_path / "libnothing.so")
    both = CardProcessClient([missing, softhsm_card.module_path])
    alone = CardProcessClient([missing])
    try:
        assert both.certificates()
        assert list(both.load_errors) == [missing]
        assert isinstance(both.load_errors[missing], ModuleLoadError)
        with pytest.raises(ModuleLoadError) as raised:
            alone.tokens()
        assert raised.value.path == missing
    finally:
        both.close()
        alone.close()


def test_close_ends_the_process_cleanly_and_a_later_call_starts_another(client):
    first = client.pid
    assert first is not None and Path(f"/proc/{first}").exists()
    client.reset()
    client.close()
    assert client.pid is None and not Path(f"/proc/{first}").exists()  # exited and reaped
    assert client.tokens()
    assert client.pid not in (None, first)


def test_a_process_started_from_a_short_lived_thread_outlives_that_thread(softhsm_card):
    """PDEATHSIG follows the forking thread: the client forks from a long-lived thread."""
    made: list[CardProcessClient] = []
    starter = threading.Thread(
        target=lambda: made.append(CardProcessClient([softhsm_card.module_path]))
    )
    starter.start()
    starter.join()
    [client] = made
    try:
        pid = client.pid
        assert client.tokens()
        assert client.pid == pid is not None
    finally:
        client.close()


def test_the_production_build_uses_the_card_process(softhsm_card):
    from tui.commands.app import build_services

    services = build_services(
        Settings(portal_url="http://127.0.0.1:9/", modules=(softhsm_card.module_path,))
    )
    card = services.card()
    try:
        assert isinstance(card, CardProcessClient)
        assert card.pid is not None
    finally:
        card.close()


@pytest.fixture(scope="module")
def faulty_module(tmp_path_factory) -> Path:
    return compile_module(FAULTY_SIGN_C, tmp_path_factory.mktemp("faulty"), "faultysign")


@pytest.fixture
def driver(faulty_module, softhsm_card, tmp_path, monkeypatch) -> FaultyDriver:
    return FaultyDriver.over(faulty_module, softhsm_card.module_path, tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("mode", "error"), [("crash", CardDriverStoppedError), ("hang", CardDriverHungError)]
)
def test_a_driver_that_crashes_or_hangs_gives_a_typed_error_then_a_fresh_process(
    driver, softhsm_card, mode, error
):
    client = CardProcessClient([str(driver.module)], deadlines=CardDeadlines(sign=1.0))
    try:
        cert = usable(client.certificates())
        before = client.pid
        driver.set(mode)
        pin = Pin.from_str(softhsm_card.pin)
        with pytest.raises(error) as raised:
            client.sign(cert, pin, LOGIN_TEXT, b"nonce")
        assert type(raised.value) is error and len(pin) == 0
        assert driver.marks() == [mode]
        assert client.pid is None and not Path(f"/proc/{before}").exists()  # reaped, no zombie
        driver.set("sign")
        signature = client.sign(cert, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, b"nonce")
        assert openssl_verify(signature.cms, softhsm_card.root_pem) == LOGIN_TEXT.encode()
        assert client.pid not in (None, before)
    finally:
        client.close()


def test_what_a_driver_prints_goes_to_the_log_not_the_terminal(
    driver, softhsm_card, tmp_path, capfd
):
    log = tmp_path / "eonay.log"
    client = CardProcessClient([str(driver.module)], log_path=log)
    try:
        cert = usable(client.certificates())
        driver.set("print")
        client.sign(cert, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, b"nonce")
    finally:
        client.close()
    written = log.read_text()
    assert "DRIVER SAYS HELLO ON STDOUT" in written and "DRIVER SAYS HELLO ON STDERR" in written
    out, err = capfd.readouterr()
    assert "DRIVER SAYS" not in out + err


def test_a_pin_longer_than_any_card_takes_is_refused_before_it_is_sent(client, softhsm_card):
    cert = usable(client.certificates())
    pid = client.pid
    pin = Pin(capacity=MAX_PIN_BYTES + 1)  # more than the card process could receive
    for _ in range(MAX_PIN_BYTES + 1):
        pin.append("7")
    with pytest.raises(PinLengthError):
        client.sign(cert, pin, LOGIN_TEXT, b"nonce")
    assert len(pin) == 0
    signature = client.sign(cert, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, b"nonce")
    assert signature.cms and client.pid == pid  # the same process, still in step
