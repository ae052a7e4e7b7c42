"""`eonay certs` and `eonay sign`, run as the user runs them: subprocesses on the SoftHSM card."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from datetime import datetime

import pytest

from tests.conftest import openssl_print, openssl_verify
from tui.core.text import LOGIN_TEXT

pytestmark = pytest.mark.softhsm

JSON_KEYS = {
    "id",
    "token",
    "holder",
    "serial_masked",
    "issuer",
    "not_after",
    "key",
    "qualified",
    "valid_now",
    "usable",
    "reason",
}


def eonay(card, *args: str, stdin: str | None = None, lang: str = "en_US.UTF-8"):
    env = {**os.environ, **card.env, "LANG": lang, "LC_ALL": ""}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def run_sign(
    card, tmp_path, cert_id: str, *, pin: str, nonce: bytes = b"n" * 32, text: str = LOGIN_TEXT
):
    """`eonay sign --pin-stdin` with `text` in a file; returns the process and the --out path."""
    text_file = tmp_path / "text.txt"
    text_file.write_text(text, encoding="utf-8")
    out = tmp_path / "sig.p7s"
    proc = eonay(
        card,
        "sign", "--module", card.module_path, "--cert-id", cert_id,
        "--text-file", str(text_file), "--nonce", b64url(nonce), "--out", str(out),
        "--pin-stdin",
        stdin=pin + "\n",
    )  # fmt: skip
    return proc, out


def test_certs_json_lists_every_certificate_with_the_documented_keys(softhsm_card):
    proc = eonay(softhsm_card, "certs", "--module", softhsm_card.module_path, "--json")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["schema"] == 1 and answer["ok"] is True and answer["errors"] == []
    listed = answer["certificates"]
    assert {item["id"] for item in listed} == {h.cert_id for h in softhsm_card.holders}
    usable = [item["usable"] for item in listed]
    assert usable == sorted(usable, reverse=True)
    for item in listed:
        assert set(item) >= JSON_KEYS
        h = next(h for h in softhsm_card.holders if h.cert_id == item["id"])
        assert item["holder"] == h.name
        assert item["token"] == h.token
        assert item["key"] == h.key
        assert item["serial_masked"] == f"{h.national_id[:2]}*******{h.national_id[-2:]}"
        assert item["qualified"] is h.qualified
        assert item["usable"] is h.usable
        assert item["valid_now"] is (h.validity == "valid")
        assert (item["reason"] is None) is h.usable
        assert datetime.fromisoformat(item["not_after"]).tzinfo is not None
        assert item["issuer"] == "Test Kamu SM NES Hizmet Sağlayıcısı - S1"
    reasons = {item["holder"] + " " + item["key"]: item["reason"] for item in listed}
    assert reasons["GÖKHAN YILDIZ EC P-256"] == "expired"
    assert reasons["ÜMİT GÜNEŞ EC P-256"] == "not_yet_valid"
    assert reasons["İLKNUR ÇAĞLAR EC P-256"] == "not_qualified"


def test_certs_table_for_people(softhsm_card):
    proc = eonay(softhsm_card, "certs", "--module", softhsm_card.module_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "Holder" in lines[0]
    assert len(lines) == 1 + len(softhsm_card.holders)
    assert "AYŞE GÜLŞEN ÇİFTÇİ" in proc.stdout and "the certificate has expired" in proc.stdout


def test_certs_with_a_missing_module_names_it(softhsm_card, tmp_path):
    missing = str(tmp_path / "libnothere.so")
    proc = eonay(softhsm_card, "certs", "--module", missing)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == f"eonay: The card driver could not be loaded: {missing}\n"


def test_certs_json_with_a_bad_module_answers_in_json_and_fails(softhsm_card, tmp_path):
    """A script reading `--json` gets an answer on stdout that says what failed, and exit 1."""
    missing = str(tmp_path / "libnothere.so")
    proc = eonay(softhsm_card, "certs", "--module", missing, "--json")
    assert proc.returncode == 1
    answer = json.loads(proc.stdout)
    assert answer == {
        "schema": 1,
        "ok": False,
        "certificates": [],
        "errors": [
            {
                "code": "module_load",
                "message": f"The card driver could not be loaded: {missing}",
                "module": missing,
            }
        ],
    }


def test_certs_json_beside_a_bad_module_lists_the_good_one_and_names_the_bad(
    softhsm_card, tmp_path
):
    missing = str(tmp_path / "libnothere.so")
    proc = eonay(
        softhsm_card, "certs", "--module", softhsm_card.module_path, "--module", missing, "--json"
    )
    assert proc.returncode == 0, proc.stderr  # a certificate can sign
    answer = json.loads(proc.stdout)
    assert answer["ok"] is True
    assert len(answer["certificates"]) == len(softhsm_card.holders)
    assert [(e["code"], e["module"]) for e in answer["errors"]] == [("module_load", missing)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "unknown arguments: --bogus"),
        (
            ["--log-level", "loud"],
            "--log-level: expected one of: DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'loud')",
        ),
    ],
)
def test_certs_json_stopped_by_its_command_line_still_answers_in_json(softhsm_card, args, message):
    proc = eonay(softhsm_card, "certs", "--json", "--module", softhsm_card.module_path, *args)
    assert proc.returncode == 2
    assert json.loads(proc.stdout) == {
        "schema": 1,
        "ok": False,
        "certificates": [],
        "errors": [{"code": "usage", "message": message, "module": None}],
    }
    assert proc.stderr.splitlines()[-1] == f"eonay: {message}"


def test_doctor_json_stopped_by_its_command_line_still_answers_in_json(softhsm_card):
    proc = eonay(softhsm_card, "doctor", "--json", "--bogus")
    assert proc.returncode == 2
    answer = json.loads(proc.stdout)
    assert answer["schema"] == 1 and answer["ok"] is False
    ((check),) = answer["checks"]
    assert check["id"] == "usage" and check["status"] == "error" and check["ok"] is False
    assert check["title"] == "unknown arguments: --bogus"


@pytest.fixture(scope="module")
def unusable_card(tmp_path_factory):
    """A card whose only certificate has expired: nothing on it can sign."""
    from tui.sim.pki import HolderSpec
    from tui.sim.softhsm import provision_card

    holder = HolderSpec("GÖKHAN YILDIZ", "31826459752", "EC-P256", validity="expired")
    return provision_card(tmp_path_factory.mktemp("unusable"), [holder])


def test_certs_with_no_usable_certificate_fails(unusable_card):
    proc = eonay(unusable_card, "certs", "--module", unusable_card.module_path)
    assert proc.returncode == 3
    assert "GÖKHAN YILDIZ" in proc.stdout and "the certificate has expired" in proc.stdout
    assert proc.stderr == (
        "eonay: No certificate on the card can sign: each one's reason is in the list.\n"
    )
    proc = eonay(unusable_card, "certs", "--module", unusable_card.module_path, "--json")
    assert proc.returncode == 3
    answer = json.loads(proc.stdout)
    assert answer["ok"] is False
    assert [c["reason"] for c in answer["certificates"]] == ["expired"]
    assert [e["code"] for e in answer["errors"]] == ["no_usable_certificate"]


def test_certs_with_no_certificate_at_all_fails(tmp_path):
    """A module with no token in it: nothing to list, nothing can sign."""
    from tui.sim.softhsm import softhsm_module, write_conf

    conf = write_conf(tmp_path)  # an empty token directory
    card = type("Card", (), {"env": {"SOFTHSM2_CONF": str(conf)}})()
    proc = eonay(card, "certs", "--module", softhsm_module())
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert "No certificates found" in proc.stderr
    proc = eonay(card, "certs", "--module", softhsm_module(), "--json")
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["errors"][0]["code"] == "no_usable_certificate"


def test_sign_that_cannot_write_its_output_says_so_and_fails(softhsm_card, tmp_path):
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    text_file = tmp_path / "text.txt"
    text_file.write_text(LOGIN_TEXT, encoding="utf-8")
    out = tmp_path / "no-such-dir" / "sig.p7s"
    proc = eonay(
        softhsm_card,
        "sign", "--module", softhsm_card.module_path, "--cert-id", holder.cert_id,
        "--text-file", str(text_file), "--nonce", b64url(b"n" * 32), "--out", str(out),
        "--pin-stdin",
        stdin=softhsm_card.pin + "\n",
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"eonay: cannot write {out}: ")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("key_type", "first_byte"),
    [("RSA-2048", b""), ("EC-P384", b"\xf8")],  # 0xf8…: the base64url starts with "-"
)
def test_sign_writes_a_cms_that_openssl_accepts(softhsm_card, tmp_path, key_type, first_byte):
    holder = next(h for h in softhsm_card.holders if h.key_type == key_type and h.usable)
    nonce = (first_byte + secrets.token_bytes(32))[:32]
    proc, out = run_sign(
        softhsm_card,
        tmp_path,
        holder.cert_id,
        pin=softhsm_card.pin,
        nonce=nonce,
        text=LOGIN_TEXT + "\n",  # one final newline is dropped
    )
    assert proc.returncode == 0, proc.stderr
    assert softhsm_card.pin not in proc.stdout + proc.stderr
    assert openssl_verify(out, softhsm_card.root_pem, workdir=tmp_path) == LOGIN_TEXT.encode()
    printed = openssl_print(out)
    assert "id-smime-aa-contentIdentifier" in printed
    from tests.core.test_token_softhsm import printed_content_identifier

    assert printed_content_identifier(printed) == nonce


@pytest.mark.parametrize(
    ("name", "key_type", "words"),
    [
        ("GÖKHAN YILDIZ", None, "expired"),
        ("ÜMİT GÜNEŞ", None, "not valid yet"),
        ("İLKNUR ÇAĞLAR", "EC-P256", "not a qualified"),
    ],
)
def test_sign_refuses_unusable_certificates(softhsm_card, tmp_path, name, key_type, words):
    holder = softhsm_card.holder(name, key_type=key_type)
    proc, out = run_sign(softhsm_card, tmp_path, holder.cert_id, pin=softhsm_card.pin)
    assert proc.returncode == 3
    assert words in proc.stderr
    assert not out.exists()


def test_sign_with_a_wrong_pin(softhsm_card, tmp_path):
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    proc, out = run_sign(softhsm_card, tmp_path, holder.cert_id, pin="654321")
    assert proc.returncode == 1
    assert "Wrong PIN" in proc.stderr
    assert "654321" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--cert-id", "zz", "--nonce", "AAAA"],
        ["--cert-id", "01", "--nonce", "not base64!"],
    ],
)
def test_sign_usage_errors(softhsm_card, tmp_path, args):
    text_file = tmp_path / "text.txt"
    text_file.write_text(LOGIN_TEXT, encoding="utf-8")
    proc = eonay(
        softhsm_card,
        "sign", "--module", softhsm_card.module_path, "--text-file", str(text_file),
        "--out", str(tmp_path / "x"), "--pin-stdin", *args,
        stdin="123456\n",
    )  # fmt: skip
    assert proc.returncode == 2


def test_sign_unknown_cert_id(softhsm_card, tmp_path):
    proc, _out = run_sign(softhsm_card, tmp_path, "00ff", pin="123456", nonce=b"\0\0\0")
    assert proc.returncode == 3
    assert "00ff" in proc.stderr


def test_the_demo_card_has_one_usable_certificate(tmp_path):
    from tui.sim.softhsm import provision_demo_card

    demo = provision_demo_card(tmp_path / "demo")  # in subprocesses: our SoftHSM is untouched
    proc = eonay(demo, "certs", "--module", demo.module_path, "--json")
    assert proc.returncode == 0, proc.stderr
    (item,) = json.loads(proc.stdout)["certificates"]
    (holder,) = demo.holders
    assert item["holder"] == holder.name == "TEVFİK EDİS"
    assert item["usable"] is True and item["id"] == holder.cert_id
    assert item["serial_masked"].startswith("13")


def test_sign_reads_only_digits_from_the_first_line_of_stdin(softhsm_card, tmp_path):
    """The PIN goes byte by byte into the Pin; a line with anything but digits is refused
    before the card is asked, and what follows the first line is never read as the PIN."""
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    proc, out = run_sign(softhsm_card, tmp_path, holder.cert_id, pin="73a146")
    assert proc.returncode == 2, proc.stderr
    assert "digits only" in proc.stderr and not out.exists()
    proc, out = run_sign(
        softhsm_card, tmp_path, holder.cert_id, pin=softhsm_card.pin + "\n000000\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert out.exists()
