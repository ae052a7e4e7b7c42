"""A card on another machine, from the discovery side: only P11_KIT_SERVER_ADDRESS is set.

A real `p11-kit server` exports the SoftHSM card on a unix socket (the signer's
`p11kit_server` fixture). Nothing names a module: discovery must find
p11-kit's client module on this machine, and the card service, `eonay sign`
and `eonay doctor` must list and sign through it; OpenSSL checks the result.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import openssl_verify
from tests.core.test_p11kit import p11kit_server  # noqa: F401 (the fixture)
from tui.core.card.pkcs11_card import Pkcs11Card
from tui.core.pin import Pin
from tui.core.setup.modules import ENV_MODULE, ENV_SERVER, Source, discover, module_paths
from tui.core.text import LOGIN_TEXT

pytestmark = pytest.mark.softhsm


def remote_env(address: str, home: Path) -> dict[str, str]:
    """A process that can reach the card only through the socket."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOFTHSM2_CONF", ENV_MODULE)}
    env.update(
        {
            ENV_SERVER: address,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "cfg"),
            "XDG_STATE_HOME": str(home / "state"),
            "LANG": "en_US.UTF-8",
        }
    )
    return env


def test_discovery_lists_and_signs_through_the_client_module(
    p11kit_server: str,  # noqa: F811
    softhsm_card: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv(ENV_SERVER, p11kit_server)  # p11-kit-client.so reads it at C_Initialize
    env = {ENV_SERVER: p11kit_server, "HOME": str(tmp_path)}
    found = discover(environ=env)
    assert [c.source for c in found] == [Source.REMOTE]
    assert found[0].exists and found[0].path.endswith("/p11-kit-client.so")
    assert p11kit_server in found[0].origin
    card = Pkcs11Card(module_paths(found))
    try:
        certs = card.certificates()
        assert {c.id.hex() for c in certs} == {h.cert_id for h in softhsm_card.holders}
        assert {c.token.module_path for c in certs} == {found[0].path}
        holder = next(h for h in softhsm_card.holders if h.usable and h.key_type == "RSA-2048")
        cert = next(c for c in certs if c.id.hex() == holder.cert_id)
        signature = card.sign(
            cert, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, secrets.token_bytes(32)
        )
    finally:
        card.close()
    assert openssl_verify(signature.cms, softhsm_card.root_pem, workdir=tmp_path) == (
        LOGIN_TEXT.encode()
    )


def test_sign_command_finds_the_remote_card_by_itself(
    p11kit_server: str,  # noqa: F811
    softhsm_card: Any,
    tmp_path: Path,
) -> None:
    holder = softhsm_card.holder("İLKNUR ÇAĞLAR", key_type="EC-P384")
    text_file = tmp_path / "text.txt"
    text_file.write_text(LOGIN_TEXT, encoding="utf-8")
    out = tmp_path / "sig.p7s"
    proc = subprocess.run(
        [
            sys.executable, "-m", "tui", "sign",  # no --module: discovery
            "--cert-id", holder.cert_id, "--text-file", str(text_file),
            "--nonce", "bm9uY2U", "--out", str(out), "--pin-stdin",
        ],
        input=softhsm_card.pin + "\n",
        capture_output=True,
        text=True,
        env=remote_env(p11kit_server, tmp_path),
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert openssl_verify(out, softhsm_card.root_pem, workdir=tmp_path) == LOGIN_TEXT.encode()


def test_certs_and_doctor_see_the_remote_card(
    p11kit_server: str,  # noqa: F811
    softhsm_card: Any,
    tmp_path: Path,
) -> None:
    env = remote_env(p11kit_server, tmp_path)
    certs = subprocess.run(
        [sys.executable, "-m", "tui", "certs", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert certs.returncode == 0, certs.stderr
    listed = json.loads(certs.stdout)["certificates"]
    assert {c["id"] for c in listed} == {h.cert_id for h in softhsm_card.holders}
    assert all(c["module"].endswith("/p11-kit-client.so") for c in listed)

    doctor = subprocess.run(
        [sys.executable, "-m", "tui", "doctor", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    report = json.loads(doctor.stdout)
    checks = report["checks"]
    module = next(c for c in checks if c["id"] == "module")
    assert module["ok"] and module["subject"].endswith("/p11-kit-client.so")
    assert p11kit_server in module["detail"]
    pcscd = next(c for c in checks if c["id"] == "pcscd")
    assert pcscd["status"] == "ok"  # the reader is on the other machine
    usable = [c for c in checks if c["id"] == "certificate" and c["status"] == "ok"]
    assert len(usable) == sum(h.usable for h in softhsm_card.holders)
