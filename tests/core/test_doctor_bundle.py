"""`eonay doctor --bundle FILE`: the support archive holds what a help desk needs and no secret.

The real `eonay doctor` runs in a process of its own on the session's SoftHSM
token. Before it runs, the secrets are planted where a careless program would
leave them: in the log file (written raw, not through eonay's redacting
handler, as an older version or another tool might have left it) and in the
environment. Then every member of the archive is searched, byte for byte and
again with spaces and dashes taken out, for the PIN, the session token, the
verification code and the T.C. kimlik numbers (the planted one and the card
holders' own).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tui.core.setup.bundle import LOG_LINES, ROOT, redact_log

pytestmark = pytest.mark.softhsm

CODE = "49586779463734"  # a verification code: 14 digits
KIMLIK = "38271645092"  # a T.C. kimlik number: 11 digits
MEMBERS = {
    "README.txt", "report.json", "report.txt", "versions.json", "modules.json",
    "pkcs11-trace.txt", "terminal.json", "eonay.log",
}  # fmt: skip


def planted_log(pin: str, token: str) -> str:
    """Lines as a leaky program would write them, among ordinary ones."""
    spaced_code = " ".join(CODE[i : i + 4] for i in range(0, 14, 4))
    dashed_kimlik = "-".join(KIMLIK[i : i + 3] for i in range(0, 11, 3))
    leaks = [
        f"PIN {pin} typed",
        f"login pin={pin} slot=0",
        f'{{"pin": "{pin}", "session": "{token}"}}',
        f"Authorization: Bearer {token}",
        f"Cookie: eonay_session={token}",
        f"GET /api/v1/e-onay?session={token}",
        f"POST /api/v1/challenges/{CODE}/signature",
        f"code {spaced_code} accepted",
        f"kimlik {KIMLIK} ({dashed_kimlik})",
        f"unexpected error: ValueError('{pin}')",
    ]
    lines = [
        f"2026-12-03 10:{i // 60:02d}:{i % 60:02d},000 INFO eonay.test [42]: line {i}"
        for i in range(LOG_LINES)
    ]
    # the leaks at the end, where the last 200 lines are taken from
    lines += [f"2026-12-03 11:00:00,000 WARNING eonay.test [42]: {leak}" for leak in leaks]
    return "\n".join(lines) + "\n"


def read_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as archive:
        out = {}
        for member in archive.getmembers():
            assert member.isfile() and member.name.startswith(f"{ROOT}/")
            extracted = archive.extractfile(member)
            assert extracted is not None
            out[member.name.removeprefix(f"{ROOT}/")] = extracted.read()
    return out


@pytest.fixture
def bundle(softhsm_card: Any, tmp_path: Path) -> tuple[dict[str, bytes], list[str], Any]:
    token = "tok_" + secrets.token_urlsafe(24)
    home = tmp_path / "home"
    log = home / "state" / "eonay" / "eonay.log"
    log.parent.mkdir(parents=True)
    log.write_text(planted_log(softhsm_card.pin, token), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EONAY_")}
    env.update(softhsm_card.env)
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "cfg"),
            "XDG_STATE_HOME": str(home / "state"),
            "EONAY_UI_LANGUAGE": "en",
            "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd"),
            # secrets in the environment, one in a variable the bundle keeps
            "EONAY_PIN": softhsm_card.pin,
            "EONAY_SESSION_TOKEN": token,
            "EONAY_VERIFICATION_CODE": CODE,
            "TC_KIMLIK_NO": KIMLIK,
            "TERM_PROGRAM": f"kiosk {KIMLIK} {softhsm_card.pin}",
            "TERM": "xterm-256color",
        }
    )
    target = tmp_path / "out" / "destek.tar.gz"
    proc = subprocess.run(
        [
            sys.executable, "-m", "tui", "doctor", "--json",
            "--module", softhsm_card.module_path, "--bundle", str(target),
        ],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert target.is_file(), proc.stderr
    assert str(target) in proc.stderr  # said where it is; stdout stays the JSON report
    json.loads(proc.stdout)
    assert target.stat().st_mode & 0o777 == 0o600
    secrets_ = [softhsm_card.pin, token, CODE, KIMLIK]
    secrets_ += [h.national_id for h in softhsm_card.holders]
    return read_members(target), secrets_, softhsm_card


def test_no_secret_survives_in_any_member(bundle: tuple[dict[str, bytes], list[str], Any]) -> None:
    members, planted, _card = bundle
    assert set(members) == MEMBERS
    for name, data in members.items():
        stripped = re.sub(rb"[\s-]", b"", data)
        for secret in planted:
            assert secret.encode() not in data, (name, secret)
            assert secret.encode() not in stripped, (name, secret, "spaces/dashes stripped")
    # the code's first 10 digits, which the log's own mode would keep unmasked, neither
    assert all(CODE[:10].encode() not in re.sub(rb"[\s-]", b"", d) for d in members.values())


def test_the_bundle_holds_what_a_help_desk_needs(
    bundle: tuple[dict[str, bytes], list[str], Any],
) -> None:
    members, _planted, card = bundle
    report = json.loads(members["report.json"])
    assert report["schema"] == 1 and any(c["id"] == "certificates" for c in report["checks"])
    text = members["report.txt"].decode()
    assert "Certificates that can sign" in text and "OK" in text  # the ASCII marks
    versions = json.loads(members["versions.json"])
    assert set(versions["packages"]) == {"textual", "PyKCS11", "cryptography", "asn1crypto",
                                         "httpx"}  # fmt: skip
    assert all(versions["packages"].values()) and versions["python"] and versions["os"]
    assert versions["eonay"]
    modules = json.loads(members["modules.json"])
    assert modules == [
        {"path": card.module_path, "source": "flag", "origin": "--module", "exists": True}
    ]
    trace = members["pkcs11-trace.txt"].decode().splitlines()
    calls = [line.split(": ", 1)[1] for line in trace if line.startswith("libsofthsm2.so: ")]
    assert calls[0] == "C_Initialize (loading) -> CKR_OK"
    for function in ("C_GetSlotList", "C_GetTokenInfo", "C_OpenSession", "C_FindObjectsInit",
                     "C_GetAttributeValue", "C_CloseSession"):  # fmt: skip
        assert any(c.startswith(f"{function} -> CKR_") for c in calls), (function, calls)
    assert not any("C_Login" in c or "C_Sign" in c for c in calls)  # no PIN asked
    assert any(f"listing: {len(card.holders)} certificate(s)" in line for line in trace), trace
    terminal = json.loads(members["terminal.json"])
    assert terminal["environment"]["TERM"] == "xterm-256color"
    assert terminal["size"]["columns"] > 0 and terminal["size"]["lines"] > 0
    log = members["eonay.log"].decode().splitlines()
    assert len(log) == LOG_LINES
    assert log[-1].startswith("2026-12-03 11:00:00,000 WARNING")  # the time stays readable


def test_a_log_line_keeps_its_time_and_loses_its_digits() -> None:
    line = "2026-12-03 11:00:00,000 INFO eonay.card [4242]: code 1234 5678 9012 34"
    assert redact_log(line) == "2026-12-03 11:00:00,000 INFO eonay.card [<digits>]: code <digits>\n"


def test_an_unwritable_target_is_said_and_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "EONAY_UI_LANGUAGE": "en",
        "EONAY_PKCS11_MODULE": str(tmp_path / "none.so"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "doctor", "--bundle", str(blocker / "x.tar.gz")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "cannot write the support archive" in proc.stderr
    assert "Traceback" not in proc.stderr
