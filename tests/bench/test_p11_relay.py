"""`bench.p11_relay` reads p11-kit's RPC framing right: real clients' calls through
`p11-kit server` on the SoftHSM token, counted by name; and it delays each call."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from itertools import pairwise
from pathlib import Path

import pytest

from bench.p11_relay import CALLS, CODE, HEADER, call_name, read_messages
from bench.p11_remote import RemoteCard

REPO = Path(__file__).resolve().parents[2]


def _frame(message_number: int, code: int, options: bytes, rest: bytes) -> bytes:
    body = CODE.pack(code) + rest
    return HEADER.pack(message_number, len(options), len(body)) + options + body


def test_the_framing_handshake_header_options_and_call_code():
    ours, theirs = socket.socketpair()
    sent = [
        _frame(1, CALLS.index("C_Login"), b"", b"\x00" * 9),
        _frame(2, CALLS.index("C_Sign"), b"opts", b"x" * 70_000),  # longer than one recv
        _frame(3, CALLS.index("C_Finalize"), b"", b""),
    ]

    def write() -> None:
        theirs.sendall(b"\x01")  # the client's protocol-version byte
        for frame in sent:
            for i in range(0, len(frame), 1000):  # in pieces, as a socket may deliver it
                theirs.sendall(frame[i : i + 1000])
        theirs.close()

    writer = threading.Thread(target=write)
    writer.start()
    messages = list(read_messages(ours))
    writer.join()
    assert messages[0].raw == b"\x01" and messages[0].code is None
    assert [call_name(m.code) for m in messages[1:]] == ["C_Login", "C_Sign", "C_Finalize"]
    assert [m.raw for m in messages[1:]] == sent  # forwarded byte for byte
    assert call_name(len(CALLS) + 5).startswith("unknown")


@pytest.fixture(scope="module")
def remote(softhsm_card, tmp_path_factory):
    with RemoteCard(softhsm_card, tmp_path_factory.mktemp("p11-remote")) as server:
        yield server


def _client_env(link) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"}
    return {**env, **link.env}


@pytest.mark.softhsm
def test_pkcs11_tool_login_is_counted_once_with_every_call_named(remote, softhsm_card):
    with remote.link(0) as link:
        proc = subprocess.run(
            [
                "pkcs11-tool",
                "--module",
                link.client_module,
                "--token-label",
                "EONAY TEST 1",
                "--login",
                "--pin",
                softhsm_card.pin,
                "--list-objects",
            ],
            env=_client_env(link),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Private Key Object" in proc.stdout  # logged in: the keys are listed
        names = link.by_name()
    assert names["C_Login"] == 1
    assert names["C_Initialize"] == 1 and names["C_Finalize"] == 1
    assert names["C_FindObjectsInit"] >= 1 and names["C_GetAttributeValue"] >= 4
    assert not [n for n in names if n.startswith("unknown") or n == "ERROR"]


@pytest.mark.softhsm
def test_a_bare_pykcs11_signature_through_the_relay_is_one_login_one_sign(remote, softhsm_card):
    holder = softhsm_card.holder("AYŞE GÜLŞEN ÇİFTÇİ")
    with remote.link(0) as link:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.baselines.remote_bare",
                link.client_module,
                "--sign=1",
                f"--cert-id={holder.cert_id}",
            ],
            input=softhsm_card.pin + "\n",
            env=_client_env(link),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        (start, end) = json.loads(proc.stdout)["sign"][0]
        timed = link.by_name(start, end)
    # open, login, find (init, find, final), sign-init, sign (length, then value), out
    assert timed["C_Login"] == 1 and timed["C_Logout"] == 1
    assert timed["C_SignInit"] == 1 and timed["C_Sign"] == 2  # PyKCS11 asks the length first
    assert timed["C_OpenSession"] == 1 and timed["C_CloseSession"] == 1


@pytest.mark.softhsm
def test_each_call_waits_a_round_trip(remote):
    """A PKCS#11 client waits for each reply: its requests reach the relay at least one
    RTT apart (half on the way out, half on the way back)."""
    with remote.link(200) as link:
        proc = subprocess.run(
            ["pkcs11-tool", "--module", link.client_module, "--list-slots"],
            env=_client_env(link),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        calls = link.calls()
    assert len(calls) >= 3
    gaps = [b.at - a.at for a, b in pairwise(calls)]
    assert min(gaps) >= 0.2
