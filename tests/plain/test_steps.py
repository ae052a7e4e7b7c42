"""The steps of plain mode as the issue names them: the code as pasted, the numbered
certificates, the text between its lines, the receipt. Real token, real simulator, a pty."""

from __future__ import annotations

import re

from tui.core.text import LOGIN_TEXT
from tui.sim.state import E_ONAY_TEXT

PROMPT_CODE = "Verification code: "
PROMPT_CERT = re.escape("Certificate number (Enter: 1): ")
PROMPT_PIN = "\r\nPIN: "


def test_a_code_pasted_with_any_spaces_and_dashes_is_taken(plain) -> None:
    """A code copied from a web page: a no-break space, an en dash, a tab, a hyphen."""
    run = plain()
    run.expect(PROMPT_CODE)
    code = run.new_code()
    run.answer(f" {code[:4]}\u00a0{code[4:8]}\u2013{code[8:11]}\t{code[11:13]}-{code[13:]} ")
    run.expect("Looking up the code at the portal…")
    run.expect("Step 2/6 · Choose a certificate")
    run.expect(PROMPT_CERT)


def test_the_certificates_are_numbered_and_unusable_ones_cannot_be_chosen(plain) -> None:
    run = plain()
    run.expect(PROMPT_CODE)
    run.answer(run.new_code())
    run.expect("Reading the card…\r\n")
    run.expect(PROMPT_CERT)
    listing = run.child.before.decode()
    entries = re.findall(r"^(\d+)\. (.+?)  T\.C\. ", listing, re.M)
    assert [int(n) for n, _name in entries] == list(range(1, len(entries) + 1))
    reasons = re.findall(
        r"^(\d+)\. [^\n]*\n(?:   [^\n]*\n){2}   Cannot be used: (.+?)\r$", listing, re.M
    )
    unusable = {int(n): reason for n, reason in reasons}
    assert unusable and len(unusable) < len(entries)  # the card has both kinds
    assert all(reason for reason in unusable.values())
    first_usable = min(set(range(1, len(entries) + 1)) - set(unusable))
    assert first_usable == 1  # the prompt's "(Enter: 1)"
    number = max(unusable)
    run.answer(str(number))  # an unusable one: said why, asked again
    run.expect(
        re.escape(f"Certificate {number} cannot be used: {unusable[number]}")
        + r"\r\n"
        + PROMPT_CERT
    )
    run.answer(str(len(entries) + 5))  # no such number
    run.expect(r"Type one of these numbers: ([\d, ]+)\r\n" + PROMPT_CERT)
    offered = {int(n) for n in run.child.match.group(1).decode().split(", ")}
    assert offered == set(range(1, len(entries) + 1)) - set(unusable)
    run.answer("")  # a bare Enter: the first usable one
    run.expect("Step 3/6 · PIN")
    run.expect(r"Certificate: ([^\r]+)\r\n")
    assert run.child.match.group(1).decode().startswith(entries[0][1].split()[0])
    assert not any(c.function in ("C_Login", "C_Sign") for c in run.boundary.calls)


def text_between_lines(output: bytes, purpose_start: int = 0) -> list[str]:
    """Every text printed between the start and end lines, as the terminal received it."""
    said = output.decode().replace("\r\n", "\n")
    found = re.findall(r"--- Text to sign: start ---\n(.*?)--- Text to sign: end ---\n", said, re.S)
    return found[purpose_start:]


def test_each_text_is_printed_exactly_between_its_lines_and_the_receipt_ends_it(plain) -> None:
    run = plain()
    run.expect(PROMPT_CODE)
    run.answer(run.new_code())
    run.expect(PROMPT_CERT)
    run.answer("")
    run.expect(PROMPT_PIN)
    run.answer(run.pin)
    run.expect(r"E-ONAY Operations \[Y/n\]: ")
    run.answer("")
    run.expect(r"Continue \[Y/n\]: ")
    run.answer("")
    run.expect(PROMPT_PIN)
    run.answer(run.pin)
    run.expect("Step 6/6 · Done")
    run.expect(re.escape("Keep the reference for your records.") + "\r\n")  # the last line
    assert run.exit_code() == 0
    # The texts, each with the one line end that closes it: the bytes that were signed.
    assert text_between_lines(run.output()) == [LOGIN_TEXT + "\n", E_ONAY_TEXT + "\n"]
    said = run.output().decode()
    receipt = said.split("Receipt\r\n", 1)[1]
    assert re.search(r"^Holder: .+\r$", receipt, re.M)
    assert re.search(r"^Reference: EONAY-\S+\r$", receipt, re.M)
    assert re.search(r"^Activated: \d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d\r$", receipt, re.M)
    assert "\x1b" not in said


def test_every_pin_typed_is_wiped_once_its_signature_is_done(plain, monkeypatch) -> None:
    """Each PIN prompt fills one real Pin a byte at a time (echo off): a wrong PIN's, the
    login's and one half-typed when the time ran out are zero in their whole buffer after."""
    from tests.safety.secrets_watch import WatchedPin, held_digits

    WatchedPin.made.clear()
    monkeypatch.setattr("tui.plain.steps.Pin", WatchedPin)
    run = plain()
    run.expect(PROMPT_CODE)
    run.answer(run.new_code())
    run.expect(PROMPT_CERT)
    run.answer("")
    run.expect(PROMPT_PIN)
    run.answer("000000")
    run.expect("Wrong PIN.")
    run.expect(PROMPT_PIN)
    run.answer(run.pin)
    run.expect(r"E-ONAY Operations \[Y/n\]: ")
    run.answer("")
    run.expect(r"Continue \[Y/n\]: ")
    run.answer("")
    run.expect(PROMPT_PIN)
    run.child.send(run.pin[:3].encode())  # typed, never sent: the time runs out meanwhile
    run.clock.advance(3600)
    run.expect("Press Enter to go back to E-Onay: ")
    run.child.send(b"\x04")  # the input ends
    assert run.exit_code() == 1
    typed = held_digits()
    assert [pin.peak for pin in typed] == [6, len(run.pin), 3]
    assert all(pin.wiped for pin in typed), [bytes(pin.store) for pin in typed]
