"""A card reached over a socket: `p11-kit server` exports the SoftHSM token,
the app uses `p11-kit-client.so` with P11_KIT_SERVER_ADDRESS, as from another machine."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket as socket_module
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import openssl_verify
from tui.core.errors import PinIncorrectError
from tui.core.pin import Pin
from tui.core.text import LOGIN_TEXT

pytestmark = pytest.mark.softhsm


def client_module() -> str | None:
    for pattern in (
        "/usr/lib/*/pkcs11/p11-kit-client.so",
        "/usr/lib/pkcs11/p11-kit-client.so",
        "/usr/lib64/pkcs11/p11-kit-client.so",
    ):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def _accepts(path: Path) -> bool:
    if not path.exists():
        return False
    with socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def p11kit_server(softhsm_card, tmp_path_factory):
    """`p11-kit server` in the background on a unix socket; yields the client's address."""
    if shutil.which("p11-kit") is None or client_module() is None:
        pytest.skip("p11-kit and p11-kit-client.so are needed")
    socket = tmp_path_factory.mktemp("p11kit") / "card.sock"
    server = subprocess.Popen(
        [
            "p11-kit", "server", "--foreground",
            "--provider", softhsm_card.module_path,
            "--name", str(socket),
            "pkcs11:",
        ],
        env={**os.environ, **softhsm_card.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while not _accepts(socket):  # the socket file appears before listen()
            if server.poll() is not None:
                err = server.stderr.read() if server.stderr else ""
                pytest.fail(f"p11-kit server exited: {err}")
            if time.monotonic() > deadline:
                pytest.fail("p11-kit server did not listen on its socket in 15 s")
            time.sleep(0.02)
        yield f"unix:path={socket}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def remote_card(p11kit_server, monkeypatch):
    from tui.core.card.pkcs11_card import Pkcs11Card

    monkeypatch.setenv("P11_KIT_SERVER_ADDRESS", p11kit_server)
    card = Pkcs11Card([client_module()])
    yield card
    card.close()


def test_listing_through_p11kit_matches_the_local_token(remote_card, card):
    remote = {(c.token.serial, c.id): c for c in remote_card.certificates()}
    local = {(c.token.serial, c.id): c for c in card.certificates()}
    assert remote.keys() == local.keys()
    for key, c in remote.items():
        assert c.der == local[key].der
        assert c.usable is local[key].usable
        assert c.token.module_path == client_module()


@pytest.mark.parametrize("key_type", ["RSA-2048", "EC-P256"])
def test_signing_through_p11kit(remote_card, softhsm_card, tmp_path, key_type):
    holder = next(h for h in softhsm_card.holders if h.key_type == key_type and h.usable)
    cert = next(c for c in remote_card.certificates() if c.id.hex() == holder.cert_id)
    sig = remote_card.sign(
        cert, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, secrets.token_bytes(32)
    )
    assert openssl_verify(sig.cms, softhsm_card.root_pem, workdir=tmp_path) == LOGIN_TEXT.encode()


def test_wrong_pin_through_p11kit_is_still_a_wrong_pin(remote_card, softhsm_card):
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    cert = next(c for c in remote_card.certificates() if c.id.hex() == holder.cert_id)
    with pytest.raises(PinIncorrectError):
        remote_card.sign(cert, Pin.from_str("000000"), LOGIN_TEXT, secrets.token_bytes(32))


def test_sign_command_through_p11kit(p11kit_server, softhsm_card, tmp_path):
    holder = softhsm_card.holder("İLKNUR ÇAĞLAR", key_type="EC-P384")
    text_file = tmp_path / "text.txt"
    text_file.write_text(LOGIN_TEXT, encoding="utf-8")
    out = tmp_path / "sig.p7s"
    env = {**os.environ, "P11_KIT_SERVER_ADDRESS": p11kit_server, "LANG": "en_US.UTF-8"}
    env.pop("SOFTHSM2_CONF", None)  # the card is only reachable through the socket
    proc = subprocess.run(
        [
            sys.executable, "-m", "tui", "sign", "--module", str(client_module()),
            "--cert-id", holder.cert_id, "--text-file", str(text_file),
            "--nonce", "bm9uY2U", "--out", str(out), "--pin-stdin",
        ],
        input=softhsm_card.pin + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert openssl_verify(Path(out), softhsm_card.root_pem, workdir=tmp_path) == (
        LOGIN_TEXT.encode()
    )
