"""Drivers and readers as they really behave (issue 13), through `tests.shims.DRIVER_C`.

The module of our own forwards to the SoftHSM test card and behaves, one behaviour at
a time, as real drivers and readers do: no slot for `C_GetSlotList(tokenPresent=TRUE)`
(AKIS), a PIN pad reader (CKF_PROTECTED_AUTHENTICATION_PATH), a card another program
holds. Each case runs in a fresh process: a module is initialised once per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import openssl_verify
from tests.shims import DRIVER_C, compile_module
from tui.core.text import LOGIN_TEXT

pytestmark = pytest.mark.softhsm

PROBE = textwrap.dedent(
    """
    import json, sys
    import PyKCS11
    from tui.core.card.pkcs11_card import Pkcs11Card
    from tui.core.pin import Pin
    module, cert_id, pin, text, out = sys.argv[1:6]
    bare = PyKCS11.PyKCS11Lib()
    bare.load(module)
    result = {"present_list": len(bare.getSlotList(tokenPresent=True))}
    card = Pkcs11Card([module])
    try:
        certs = card.certificates()
        result["certs"] = len(certs)
        cert = next(c for c in certs if c.id.hex() == cert_id)
        result["flags"] = list(cert.token.flags)
        sig = card.sign(cert, Pin.from_str(pin) if pin else Pin(), text, b"nonce")
        open(out, "wb").write(sig.cms)
        result["signed"] = True
    except Exception as err:
        result["error"] = type(err).__name__
        result["message"] = err.user_message() if hasattr(err, "user_message") else str(err)
    print(json.dumps(result))
    """
)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_module(DRIVER_C, tmp_path_factory.mktemp("driver"), "realdriver")


def probe(
    driver: Path, softhsm_card: Any, tmp_path: Path, pin: str | None = None, **on: str
) -> tuple[dict[str, Any], Path]:
    out = tmp_path / "sig.p7s"
    env = {
        **os.environ,
        **softhsm_card.env,
        "EONAY_DRV_TARGET": softhsm_card.module_path,
        "EONAY_DRV_LOG": str(tmp_path / "driver.log"),
        "LANG": "en_US.UTF-8",
        **{f"EONAY_DRV_{name.upper()}": value for name, value in on.items()},
    }
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(driver), holder.cert_id,
         softhsm_card.pin if pin is None else pin, LOGIN_TEXT, str(out)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), out


def test_a_driver_listing_no_slot_for_token_present_still_shows_the_card(
    driver: Path, softhsm_card: Any, tmp_path: Path
) -> None:
    result, out = probe(driver, softhsm_card, tmp_path, no_present_list="1")
    assert result["present_list"] == 0  # the driver does what AKIS is reported to do
    assert result["certs"] == len(softhsm_card.holders)
    assert result["signed"] is True
    assert openssl_verify(out, softhsm_card.root_pem, workdir=tmp_path) == LOGIN_TEXT.encode()


def test_the_same_driver_without_the_quirk_lists_the_same(
    driver: Path, softhsm_card: Any, tmp_path: Path
) -> None:
    result, _ = probe(driver, softhsm_card, tmp_path)
    assert result["present_list"] > 0 and result["certs"] == len(softhsm_card.holders)


PIN_PAD = "PROTECTED_AUTHENTICATION_PATH"


def test_a_pin_pad_reader_gets_a_null_pin_and_the_pin_typed_on_its_keypad(
    driver: Path, softhsm_card: Any, tmp_path: Path
) -> None:
    keypad = tmp_path / "keypad"
    keypad.write_text(softhsm_card.pin)
    result, out = probe(driver, softhsm_card, tmp_path, pin="", pinpad=str(keypad))
    assert PIN_PAD in result["flags"]
    assert result["signed"] is True, result
    assert openssl_verify(out, softhsm_card.root_pem, workdir=tmp_path) == LOGIN_TEXT.encode()
    logins = [line for line in (tmp_path / "driver.log").read_text().splitlines()]
    assert logins == ["login NULL"]


def test_a_pin_pad_reader_never_gets_a_pin_from_eonay(
    driver: Path, softhsm_card: Any, tmp_path: Path
) -> None:
    """Even handed digits (a caller that did not look at the flag), C_Login gets NULL."""
    keypad = tmp_path / "keypad"
    keypad.write_text(softhsm_card.pin)
    result, _ = probe(driver, softhsm_card, tmp_path, pin="999999", pinpad=str(keypad))
    assert result["signed"] is True, result
    assert (tmp_path / "driver.log").read_text().splitlines() == ["login NULL"]


@pytest.mark.parametrize(
    ("typed", "error"),
    [("000000", "PinIncorrectError"), ("cancel", "PinCancelledError")],
)
def test_a_wrong_or_cancelled_pin_on_the_reader(
    driver: Path, softhsm_card: Any, tmp_path: Path, typed: str, error: str
) -> None:
    keypad = tmp_path / "keypad"
    keypad.write_text(typed)
    result, out = probe(driver, softhsm_card, tmp_path, pin="", pinpad=str(keypad))
    assert result["error"] == error and not out.exists()
    assert (tmp_path / "driver.log").read_text().splitlines() == ["login NULL"]
    if error == "PinIncorrectError":
        assert result["message"].startswith("Wrong PIN")  # the message as for a typed PIN
    else:
        assert "cancelled on the card reader" in result["message"]


def test_a_locked_pin_on_a_pin_pad_reader_is_refused_before_any_login(
    driver: Path, softhsm_card: Any, tmp_path: Path
) -> None:
    keypad = tmp_path / "keypad"
    keypad.write_text(softhsm_card.pin)
    locked = hex(0x40000)  # CKF_USER_PIN_LOCKED
    result, _ = probe(driver, softhsm_card, tmp_path, pin="", pinpad=str(keypad), flags=locked)
    assert result["error"] == "PinLockedError"
    assert not (tmp_path / "driver.log").exists()  # no C_Login at all


BUSY_PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from tui.core.card.pkcs11_card import Pkcs11Card
    from tui.core.errors import CardBusyError
    from tui.core.pin import Pin
    module, cert_id, pin, text, out, flag, log = sys.argv[1:8]
    flag, log = Path(flag), Path(log)
    card = Pkcs11Card([module])
    result = {}

    def attempt(call):
        try:
            call()
            return "ok"
        except CardBusyError as err:
            return "busy: " + err.user_message()
        except Exception as err:
            return type(err).__name__

    flag.touch()  # another program holds the card from the start
    result["listing while held"] = attempt(card.certificates)
    flag.unlink()  # ... and lets go of it
    certs = card.certificates()
    cert = next(c for c in certs if c.id.hex() == cert_id)
    flag.touch()  # taken again while the PIN was being typed
    result["signature while held"] = attempt(
        lambda: card.sign(cert, Pin.from_str(pin), text, b"nonce"))
    result["pin state while held"] = attempt(lambda: card.pin_state(cert))
    result["logins while held"] = log.read_text().count("login") if log.exists() else 0
    flag.unlink()
    sig = card.sign(cert, Pin.from_str(pin), text, b"nonce")
    open(out, "wb").write(sig.cms)
    result["logins"] = log.read_text().count("login")
    print(json.dumps(result))
    """
)


@pytest.mark.parametrize(
    ("rv", "slot_info"),
    [("0x30", ""), ("0xE1", ""), ("0x31", ""), ("0x6", ""), ("0xE0", ""), ("0x30", "1")],
    ids=["DEVICE_ERROR", "TOKEN_NOT_RECOGNIZED", "DEVICE_MEMORY", "FUNCTION_FAILED",
         "TOKEN_NOT_PRESENT", "DEVICE_ERROR-also-C_GetSlotInfo-as-OpenSC"],
)  # fmt: skip
def test_a_card_another_program_holds_is_told_apart_and_costs_no_pin(
    driver: Path, softhsm_card: Any, tmp_path: Path, rv: str, slot_info: str
) -> None:
    out, flag, log = tmp_path / "sig.p7s", tmp_path / "busy", tmp_path / "driver.log"
    env = {
        **os.environ,
        **softhsm_card.env,
        "EONAY_DRV_TARGET": softhsm_card.module_path,
        "EONAY_DRV_LOG": str(log),
        "EONAY_DRV_BUSY": str(flag),
        "EONAY_DRV_BUSY_RV": rv,
        "LANG": "en_US.UTF-8",
        **({"EONAY_DRV_BUSY_SLOTINFO": slot_info} if slot_info else {}),
    }
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    proc = subprocess.run(
        [sys.executable, "-c", BUSY_PROBE, str(driver), holder.cert_id, softhsm_card.pin,
         LOGIN_TEXT, str(out), str(flag), str(log)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    busy = (
        "busy: Another program may be using the card (DYS, the Kamu SM app, a browser). "
        "Close it; eonay tries again by itself."
    )
    assert result["listing while held"] == busy
    assert result["signature while held"] == busy
    assert result["pin state while held"] == busy
    assert result["logins while held"] == 0  # the busy card was found before C_Login
    assert result["logins"] == 1  # once free: one signature, one login
    assert openssl_verify(out, softhsm_card.root_pem, workdir=tmp_path) == LOGIN_TEXT.encode()


def eonay(driver: Path, softhsm_card: Any, tmp_path: Path, *args: str, stdin: str, **on: str):
    env = {
        **os.environ,
        **softhsm_card.env,
        "EONAY_DRV_TARGET": softhsm_card.module_path,
        "EONAY_DRV_LOG": str(tmp_path / "driver.log"),
        "LANG": "en_US.UTF-8",
        "LC_ALL": "",
        **{f"EONAY_DRV_{name.upper()}": value for name, value in on.items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], input=stdin, capture_output=True, text=True,
        env=env, timeout=60,
    )  # fmt: skip


def test_eonay_sign_pin_stdin_on_a_pin_pad_reader_says_the_pin_is_typed_there(
    driver: Path, softhsm_card: Any, tmp_path: Path
) -> None:
    keypad = tmp_path / "keypad"
    keypad.write_text(softhsm_card.pin)
    text = tmp_path / "text.txt"
    text.write_text(LOGIN_TEXT, encoding="utf-8")
    out = tmp_path / "sig.p7s"
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    proc = eonay(
        driver, softhsm_card, tmp_path,
        "sign", "--module", str(driver), "--cert-id", holder.cert_id, "--text-file", str(text),
        "--nonce", "bm9uY2U", "--out", str(out), "--pin-stdin",
        stdin="000000\n", pinpad=str(keypad),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "--pin-stdin" in proc.stderr and "typed on the reader" in proc.stderr
    assert (tmp_path / "driver.log").read_text().splitlines() == ["login NULL"]
    assert openssl_verify(out, softhsm_card.root_pem, workdir=tmp_path) == LOGIN_TEXT.encode()


def test_eonay_certs_on_a_driver_listing_no_slot_for_token_present(
    driver: Path, softhsm_card: Any, tmp_path: Path
) -> None:
    proc = eonay(
        driver, softhsm_card, tmp_path, "certs", "--json", "--module", str(driver),
        stdin="", no_present_list="1",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["certificates"]) == len(softhsm_card.holders)


def test_eonay_certs_on_a_held_card_says_so(
    driver: Path, softhsm_card: Any, tmp_path: Path
) -> None:
    flag = tmp_path / "busy"
    flag.touch()
    proc = eonay(
        driver, softhsm_card, tmp_path, "certs", "--module", str(driver), stdin="",
        busy=str(flag),
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Another program may be using the card" in proc.stderr


def doctor(driver: Path, softhsm_card: Any, tmp_path: Path, **on: str) -> dict[str, Any]:
    proc = eonay(
        driver, softhsm_card, tmp_path, "doctor", "--json", "--module", str(driver), stdin="",
        **on,
    )  # fmt: skip
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_doctor_names_a_pin_pad_reader_and_a_held_card(
    driver: Path, softhsm_card: Any, tmp_path: Path
) -> None:
    keypad = tmp_path / "keypad"
    report = doctor(driver, softhsm_card, tmp_path, pinpad=str(keypad))
    tokens = [c for c in report["checks"] if c["id"] == "token"]
    assert tokens and all("PIN pad reader" in c["detail"] for c in tokens)
    flag = tmp_path / "busy"
    flag.touch()
    report = doctor(driver, softhsm_card, tmp_path, busy=str(flag))
    tokens = [c for c in report["checks"] if c["id"] == "token"]
    assert tokens and all("Another program may be using the card" in c["hint"] for c in tokens)
    log = tmp_path / "driver.log"
    assert "login" not in (log.read_text() if log.exists() else "")  # the doctor never logs in


AT_LOGIN_PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from tui.core.card.pkcs11_card import Pkcs11Card
    from tui.core.errors import CardBusyError
    from tui.core.pin import Pin
    module, cert_id, pin, text, flag, log = sys.argv[1:7]
    card = Pkcs11Card([module])
    cert = next(c for c in card.certificates() if c.id.hex() == cert_id)
    Path(flag).touch()
    given = Pin.from_str(pin)
    try:
        card.sign(cert, given, text, b"nonce")
        outcome = "signed"
    except CardBusyError:
        outcome = "busy"
    print(json.dumps({"outcome": outcome, "wiped": len(given) == 0,
                      "log": Path(log).read_text().splitlines()}))
    """
)


def test_a_card_taken_at_c_login_is_not_tried_again_with_the_pin(
    driver: Path, softhsm_card: Any, tmp_path: Path
) -> None:
    """A driver that first fails at C_Login: CardBusyError, one C_Login, the PIN wiped."""
    flag, log = tmp_path / "busy", tmp_path / "driver.log"
    env = {
        **os.environ,
        **softhsm_card.env,
        "EONAY_DRV_TARGET": softhsm_card.module_path,
        "EONAY_DRV_LOG": str(log),
        "EONAY_DRV_BUSY": str(flag),
        "EONAY_DRV_BUSY_AT": "C_Login",
        "LANG": "en_US.UTF-8",
    }
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    proc = subprocess.run(
        [sys.executable, "-c", AT_LOGIN_PROBE, str(driver), holder.cert_id, softhsm_card.pin,
         LOGIN_TEXT, str(flag), str(log)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["outcome"] == "busy"
    assert result["log"] == ["login PIN", "busy C_Login"]  # once, never again
    assert result["wiped"] is True
