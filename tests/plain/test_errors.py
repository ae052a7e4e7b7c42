"""Every error and recovery of the app, in plain mode: one clear line, then the next prompt.

Wrong code, expired code, time running out at the PIN, wrong PIN, the final try,
a locked PIN, the card pulled out, the portal down (at the lookup and when the
signature is sent). Real parts throughout; faults only at the PKCS#11 boundary
and in the simulator.
"""

from __future__ import annotations

import re

from tui.core.card.pkcs11 import CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED
from tui.core.settings import Settings
from tui.sim.state import PortalState

PROMPT_CODE = "Verification code: "
PROMPT_CERT = re.escape("Certificate number (Enter: ") + r"\d+\): "
PROMPT_PIN = "\r\nPIN: "
WRONG_PIN = "000000"


def to_pin(run) -> None:
    run.expect(PROMPT_CODE)
    run.answer(run.new_code())
    run.expect(PROMPT_CERT)
    run.answer("")
    run.expect(PROMPT_PIN)


def test_a_wrong_code_says_so_and_asks_again(plain) -> None:
    run = plain()
    run.expect(PROMPT_CODE)
    run.answer("1234-5678 9012 34")  # spaces and dashes dropped: 14 digits, unknown to the portal
    run.expect("Looking up the code at the portal…")
    run.expect(r"\r\n([^\r\n]+)\r\nVerification code: ")
    said = run.child.match.group(1).decode()
    assert "code" in said.lower()
    run.answer("12345")
    run.expect(re.escape("The code has 14 digits; you typed 5.") + r"\r\nVerification code: ")


def test_an_expired_code_says_so_and_asks_for_a_new_one(plain, sim_clock) -> None:
    run = plain()
    run.expect(PROMPT_CODE)
    code = run.new_code()
    sim_clock.advance(3600)  # the portal's code ran out before it was typed
    run.answer(code)
    run.expect(r"\r\n([^\r\n]+)\r\nVerification code: ")
    assert "Get a new code from the portal." in run.child.match.group(1).decode()


def test_time_running_out_at_the_pin_offers_a_new_code(plain) -> None:
    run = plain()
    to_pin(run)
    run.clock.advance(3600)
    run.expect("The code's time is over. Nothing was signed. Get a new code from the portal.")
    run.expect("Press Enter to start again with a new code: ")
    assert not any(c.function in ("C_Login", "C_Sign") for c in run.boundary.calls)
    run.answer("")
    run.expect("Step 1/6 · Verification code")
    run.expect("The code's time is over. Nothing was signed. Get a new code from the portal.")
    run.expect(PROMPT_CODE)


def test_the_time_shows_at_the_certificate_and_its_end_there_asks_for_a_new_code(plain) -> None:
    """Issue 16, point 2, as in the app: the time from step 2 on, one message at its end."""
    run = plain()
    run.expect(PROMPT_CODE)
    run.answer(run.new_code())
    run.expect(r"Time left: \d+ minutes?")
    run.expect(PROMPT_CERT)
    run.clock.advance(3600)
    run.answer("")
    run.expect("The code's time is over. Nothing was signed. Get a new code from the portal.")
    run.expect("Press Enter to start again with a new code: ")
    assert not any(c.function in ("C_Login", "C_Sign") for c in run.boundary.calls)


def test_a_wrong_pin_says_so_once_and_asks_again(plain) -> None:
    run = plain()
    to_pin(run)
    run.answer(WRONG_PIN)
    run.expect("Try 1: Wrong PIN.")
    run.expect(PROMPT_PIN)
    logins = [c for c in run.boundary.calls if c.function == "C_Login"]
    assert len(logins) == 1  # tried once, never again by itself
    run.answer(WRONG_PIN)
    run.expect("Try 2: Wrong PIN.")  # counted, as in the app: each reads as new
    run.expect(PROMPT_PIN)
    run.answer(run.pin)
    run.expect(r"E-ONAY Operations \[Y/n\]: ")
    assert WRONG_PIN.encode() not in run.output() and run.pin.encode() not in run.output()


def test_the_final_try_needs_a_clear_yes(plain) -> None:
    run = plain()
    run.expect(PROMPT_CODE)
    run.answer(run.new_code())
    run.expect(PROMPT_CERT)
    for token in run.card.tokens():
        run.boundary.flags[token.label] = CKF_USER_PIN_FINAL_TRY
    run.answer("")
    run.expect("Last try: a wrong PIN now locks the card.")
    run.expect(PROMPT_PIN)
    run.answer(run.pin)
    run.expect("Last PIN try")
    run.expect(re.escape("Sign with the PIN you typed? [y/N]: "))
    run.answer("")  # Enter alone cancels, as Cancel has the focus in the app
    run.expect(PROMPT_PIN)
    assert not any(c.function == "C_Login" for c in run.boundary.calls)
    run.answer(run.pin)
    run.expect(re.escape("[y/N]: "))
    run.answer("y")
    run.expect(r"E-ONAY Operations \[Y/n\]: ")
    assert sum(c.function == "C_Login" for c in run.boundary.calls) == 1


def test_a_locked_pin_is_never_tried(plain) -> None:
    run = plain()
    run.expect(PROMPT_CODE)
    run.answer(run.new_code())
    run.expect(PROMPT_CERT)
    for token in run.card.tokens():
        run.boundary.flags[token.label] = CKF_USER_PIN_LOCKED
    run.answer("")
    run.expect("Kilit Çözme")
    run.expect("Press Enter to choose a certificate again: ")
    assert not any(c.function in ("C_Login", "C_Sign") for c in run.boundary.calls)
    run.answer("")
    run.expect("Step 2/6 · Choose a certificate")


def test_the_card_pulled_out_at_the_pin_prompt_goes_back_to_the_certificates(plain) -> None:
    run = plain()
    to_pin(run)
    run.boundary.pull("EONAY TEST 1")  # the card of the first certificate, which was taken
    run.expect("Step 2/6 · Choose a certificate")
    run.expect(r"\r\n([^\r\n]+)\r\nReading the card…")
    assert "card was removed" in run.child.match.group(1).decode()
    run.expect(PROMPT_CERT)  # the other card's certificates
    assert not any(c.function in ("C_Login", "C_Sign") for c in run.boundary.calls)
    run.answer("")
    run.expect(PROMPT_PIN)
    run.answer(run.pin)
    run.expect(r"E-ONAY Operations \[Y/n\]: ")


def test_the_card_pulled_out_during_the_signature(plain) -> None:
    run = plain()
    to_pin(run)
    run.boundary.pull_at["C_Sign"] = "EONAY TEST 1"
    run.answer(run.pin)
    run.expect("Step 2/6 · Choose a certificate")
    run.expect(r"\r\n([^\r\n]+)\r\nReading the card…")
    assert "card was removed" in run.child.match.group(1).decode()
    run.expect(PROMPT_CERT)


def test_the_portal_down_at_the_lookup_says_so_and_asks_again(plain) -> None:
    run = plain(portal_url="http://127.0.0.1:9/")  # nothing listens on the discard port
    run.expect(PROMPT_CODE)
    run.answer("12345678901234")
    run.expect("Looking up the code at the portal…")
    run.expect(r"\r\n([^\r\n]+)\r\nVerification code: ")
    assert "portal" in run.child.match.group(1).decode().lower()


def test_the_portal_down_when_the_signature_is_sent_sends_the_same_signature_again(plain) -> None:
    run = plain()
    to_pin(run)
    run.sim.faults.fail_next(20, 503)
    run.answer(run.pin)
    run.expect("Signed. Sending the signature to the portal…")
    run.expect("Press Enter to send the same signature again: ")
    run.sim.faults.reset()
    run.answer("")
    run.expect(r"E-ONAY Operations \[Y/n\]: ")
    assert sum(c.function == "C_Sign" for c in run.boundary.calls) == 1  # signed once only


def test_a_bare_enter_takes_the_first_usable_certificate_and_confirms_e_onay(plain) -> None:
    run = plain(Settings(language="en"))
    to_pin(run)
    run.answer(run.pin)
    run.expect(r"E-ONAY Operations \[Y/n\]: ")
    run.answer("")
    run.expect(r"Continue \[Y/n\]: ")
    run.answer("")
    run.expect("Step 5/6 · PIN")
    run.expect(PROMPT_PIN)
    run.answer(run.pin)
    run.expect("Step 6/6 · Done")
    run.expect("Your E-Onay is now active.")
    assert run.exit_code() == 0
    assert b"\x1b" not in run.output()
    assert run.pin.encode() not in run.output()


def test_a_text_that_cannot_be_shown_as_signed_is_refused_before_any_pin(plain) -> None:
    """The ANSI escape in the portal's text is never written: the text is refused at lookup."""
    run = plain()
    run.sim.faults.hostile_text = "ansi"
    run.expect(PROMPT_CODE)
    run.answer(run.new_code())
    run.expect(r"\r\n([^\r\n]+)\r\nVerification code: ")
    assert "cannot be shown exactly as it would be signed" in run.child.match.group(1).decode()
    assert b"\x1b" not in run.output()
    assert not any(c.function in ("C_Login", "C_Sign") for c in run.boundary.calls)


def test_a_bug_gives_a_reference_and_the_flow_starts_again(plain) -> None:
    run = plain()
    run.boundary.crash_at["C_Sign"] = RuntimeError("a bug in the card layer")
    to_pin(run)
    run.answer(run.pin)
    run.expect("Something unexpected happened")
    run.expect(r"Reference: (\S+)")
    run.expect("Step 1/6 · Verification code")
    run.expect(PROMPT_CODE)
    assert b"a bug in the card layer" not in run.output()


def test_too_many_wrong_codes_say_the_wait_and_the_portal_is_not_asked_before_it(
    plain, sim, sim_clock
) -> None:
    sim.reset(PortalState(clock=sim_clock, max_wrong_codes=2, wrong_code_window=60))
    run = plain()
    for _ in range(3):
        run.expect(PROMPT_CODE)
        run.answer("11111111111111")
    run.expect(re.escape("Too many attempts. Wait 60 seconds and try again."))
    lookups = run.output().count("Looking up the code at the portal…".encode())
    run.clock.advance(45)
    run.expect(PROMPT_CODE)
    run.answer("11111111111111")
    run.expect(r"Wait 1[45] seconds and try again\.\r\nVerification code: ")
    assert run.output().count("Looking up the code at the portal…".encode()) == lookups


def test_the_portal_down_when_e_onay_is_asked_for_says_so_and_asks_again(plain) -> None:
    run = plain()
    to_pin(run)
    run.answer(run.pin)
    run.expect(r"E-ONAY Operations \[Y/n\]: ")
    run.answer("")
    run.expect(r"Continue \[Y/n\]: ")
    run.sim.faults.fail_next(20, 503)
    run.answer("")
    run.expect("Asking the portal for the E-Onay text…\r\n")
    run.expect(r"([^\r\n]+)\r\nContinue \[Y/n\]: ")  # one line, then the same question
    assert "portal" in run.child.match.group(1).decode().lower()
    run.sim.faults.reset()
    run.answer("")
    run.expect("Step 5/6 · PIN")
    run.expect(PROMPT_PIN)


def test_settings_that_cannot_work_are_said_before_the_code_and_block_its_lookup(plain) -> None:
    """As on the app's first screen: the problem and its fix come before the code's prompt,
    and a code typed anyway is refused without a lookup, and stays good at the portal."""
    from tui.core.setup.modules import ModuleCandidate, Source
    from tui.core.setup.settings_check import settings_problems

    missing = ModuleCandidate("/nonexistent/libakisp11.so", Source.FLAG, "--module", False)
    run = plain(check_settings=lambda: settings_problems("http://portal.example/", [missing]))
    run.expect(PROMPT_CODE)
    said = run.output().decode()
    assert (
        "This setting cannot work: The portal address http://portal.example/ uses plain http:// "
        "to another computer.\r\n→ Plain http:// is allowed only for this computer" in said
    )
    assert (
        "This setting cannot work: The card driver /nonexistent/libakisp11.so does not exist. "
        "(given with --module)\r\n→ Give the path of your card's driver" in said
    )
    code = run.new_code()
    run.answer(code)
    run.expect(re.escape("The code was not looked up, so it is still good") + r"[^\r\n]*\r\n")
    run.expect(PROMPT_CODE)
    assert "Looking up the code" not in run.output().decode()
    assert run.sim.state.get_challenge(code, "test")["code"] == code  # still unused, still good
