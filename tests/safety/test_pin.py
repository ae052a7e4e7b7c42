"""The PIN: only on the card, once per signature, never shown, copied, logged or kept.

Every test runs the real app on the real SoftHSM card (through the watched
PKCS#11 boundary of `tests.safety.boundary`) and the real simulator over
loopback HTTP. SoftHSM never sets PIN flags; the final-try and locked cases
add them at the token boundary, and everything else is the real token.
"""

from __future__ import annotations

import pytest
from PyKCS11 import CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED

from tests.safety import drive
from tests.safety.conftest import HOLDER, WRONG_PIN
from tests.safety.secrets_watch import (
    WatchedPin,
    exception_texts,
    files_under,
    held_digits,
)
from tests.screen_text import screen_text
from tests.terminal_writes import record_writes
from tui.core.settings import Settings
from tui.screens.certificate_select import CertificateSelectScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.final_try import FinalTryDialog
from tui.screens.pin_entry import Phase, PinEntryScreen
from tui.screens.tasks import TaskRunner
from tui.sim.softhsm import CARD_1
from tui.widgets.pin_field import PinField

pytestmark = pytest.mark.softhsm


@pytest.fixture
def worker_errors(monkeypatch) -> list[BaseException]:
    """Every exception a screen's worker ended with (what screens and the error dialog see)."""
    seen: list[BaseException] = []
    original = TaskRunner.on_worker_state_changed

    def watch(self, event):
        if event.worker.error is not None:
            seen.append(event.worker.error)
        return original(self, event)

    monkeypatch.setattr(TaskRunner, "on_worker_state_changed", watch)
    return seen


@pytest.fixture
def watched_pins(monkeypatch) -> list[WatchedPin]:
    """The PIN field's Pins are remembered (still the real `Pin`)."""
    WatchedPin.made.clear()
    monkeypatch.setattr("tui.widgets.pin_field.Pin", WatchedPin)
    return WatchedPin.made


async def test_the_pin_appears_in_no_log_exception_screen_or_output(
    rig, softhsm_card, debug_log, worker_errors, capfd, tmp_path
):
    """A whole flow at DEBUG, with a wrong PIN on the way: the PIN's digits are nowhere."""
    pin = softhsm_card.pin
    log_file, raw_records = debug_log
    r = rig(Settings(language="en", log_level="DEBUG"))
    code = r.sim.new_login().code
    screens: list[str] = []

    def capture() -> None:
        screens.append(r.app.export_screenshot())
        screens.append(screen_text(r.app))

    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code, keys=True)
        await drive.choose(pilot, HOLDER)
        screen = await drive.pin_screen(pilot)
        await pilot.press(*WRONG_PIN[:3])
        capture()
        await pilot.press(*WRONG_PIN[3:])
        capture()
        await pilot.press("enter")
        await drive.settled(pilot, screen)
        assert "Wrong PIN" in drive.status(pilot)
        capture()
        await pilot.press(*pin)
        capture()
        await pilot.press("enter")
        await drive.start_e_onay(pilot)
        capture()
        screen = await drive.sign_with(pilot, pin)
        capture()
        await drive.done(pilot)
        capture()
        await pilot.press("enter")  # Finish
    out, err = capfd.readouterr()

    assert r.boundary.count("C_Login") == 3  # the wrong PIN, the login, the E-Onay
    assert any(type(e).__name__ == "PinIncorrectError" for e in worker_errors)
    log_text = log_file.read_text(encoding="utf-8")
    assert "/signature -> 200" in log_text  # the log did record the flow, at DEBUG
    assert raw_records
    for secret in (pin, WRONG_PIN):
        assert secret not in log_text
        assert not any(secret in record for record in raw_records)  # not even before redaction
        for error in worker_errors:
            assert not any(secret in text for text in exception_texts(error))
        assert not any(secret in shot for shot in screens)
        assert secret not in out and secret not in err
        for _method, path, body in r.http.sent:  # sent nowhere but the card
            assert secret not in path and secret.encode() not in body
        for path, content in files_under(tmp_path):
            assert secret.encode() not in content, path


async def test_the_pin_field_refuses_copy_and_cut(rig, softhsm_card, monkeypatch):
    """ctrl+c, ctrl+x and their other keys put nothing on the clipboard and send no OSC 52."""
    r = rig()
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        written = record_writes(monkeypatch)
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        screen = await drive.pin_screen(pilot)
        await pilot.press(*softhsm_card.pin)
        field = screen.query_one(PinField)
        assert field.has_focus
        for key in ("ctrl+c", "ctrl+x", "ctrl+insert", "shift+delete", "super+c", "super+x"):
            await pilot.press(key)
        assert "cannot be copied" in drive.status(pilot)
        r.app.screen.set_focus(None)  # off the field: the screen has nothing to copy either
        await pilot.pause()
        assert not field.has_focus
        await pilot.press("ctrl+c", "ctrl+x")
        assert r.app.screen.get_selected_text() is None  # nothing can be selected to copy
        assert r.app.clipboard == ""
        assert not any("\x1b]52" in data for data in written)
        assert field.length == len(softhsm_card.pin)  # still typed, only not copyable
        assert r.boundary.count("C_Login") == 0
        assert isinstance(r.app.screen, PinEntryScreen)


async def test_the_final_try_needs_an_extra_confirmation(rig, softhsm_card):
    r = rig()
    code = r.sim.new_login().code
    r.boundary.flags[CARD_1] = CKF_USER_PIN_FINAL_TRY
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.choose(pilot, HOLDER)
        screen = await drive.pin_screen(pilot)
        assert "Last try" in drive.status(pilot)  # said before anything is typed
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: isinstance(r.app.screen, FinalTryDialog))
        assert "Last PIN try" in screen_text(r.app)
        assert r.app.screen.focused is not None and r.app.screen.focused.id == "cancel"
        await pilot.press("enter")  # Enter alone cancels: the default is not to sign
        await drive.until(pilot, lambda: r.app.screen is screen)
        assert r.boundary.count("C_Login") == 0
        await pilot.press("enter")
        await drive.until(pilot, lambda: isinstance(r.app.screen, FinalTryDialog))
        await pilot.press("escape")
        await drive.until(pilot, lambda: r.app.screen is screen)
        assert r.boundary.count("C_Login") == 0
        await pilot.press("enter")
        await drive.until(pilot, lambda: isinstance(r.app.screen, FinalTryDialog))
        await pilot.press("tab")
        assert r.app.screen.focused is not None and r.app.screen.focused.id == "confirm"
        await pilot.press("enter")  # "Yes, sign": the one explicit yes
        await drive.until(pilot, lambda: isinstance(r.app.screen, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 1


async def test_a_locked_pin_is_never_tried(rig, softhsm_card):
    """Locked before the PIN screen, or between reading the flags and Enter: no C_Login."""
    r = rig(poll=60.0)  # the list is read once; the test decides when the flags change
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, code)
        await drive.until(pilot, lambda: isinstance(r.app.screen, CertificateSelectScreen))
        listing = r.app.screen.query_one("#certificates")
        await drive.until(pilot, lambda: len(listing.certificates) > 0)
        r.boundary.flags[CARD_1] = CKF_USER_PIN_LOCKED
        await drive.choose(pilot, HOLDER)  # listed before the lock: still selectable
        screen = await drive.pin_screen(pilot)
        assert screen.phase is Phase.LOCKED
        assert "Kilit Çözme" in drive.status(pilot)
        await pilot.press(*softhsm_card.pin, "enter")
        await pilot.click("#sign")
        await pilot.pause(0.2)
        assert screen.query_one(PinField).length == 0  # the field takes nothing
        assert r.boundary.count("C_Login") == 0

        # The card locks after its flags were read (another program used it): the
        # card service reads them again before C_Login, and refuses.
        await pilot.press("escape")
        await drive.until(pilot, lambda: isinstance(r.app.screen, CertificateSelectScreen))
        r.boundary.flags[CARD_1] = 0
        listing = r.app.screen.query_one("#certificates")

        def polled_until_usable() -> bool:
            # The screen's poll, asked by hand (poll=60 here): the card service checks
            # once a second, one slot list or token info in turn, so this takes a few.
            r.app.screen.reread()
            return any(c.holder == HOLDER and c.usable for c in listing.certificates)

        await drive.until(pilot, polled_until_usable)
        await drive.choose(pilot, HOLDER)
        screen = await drive.pin_screen(pilot)
        assert screen.phase is Phase.TYPING
        r.boundary.flags[CARD_1] = CKF_USER_PIN_LOCKED
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: screen.phase is Phase.LOCKED)
        assert "Kilit Çözme" in drive.status(pilot)
    assert r.boundary.count("C_Login") == 0
    assert r.boundary.count("C_Sign") == 0


async def test_a_wrong_pin_is_tried_once_and_never_again_by_itself(rig, softhsm_card):
    r = rig()
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        screen = await drive.log_in(pilot, code, HOLDER, WRONG_PIN)
        await drive.settled(pilot, screen)
        assert "Wrong PIN" in drive.status(pilot)
        assert screen.query_one(PinField).length == 0  # cleared for the next try
        assert r.boundary.count("C_Login") == 1
        for _ in range(10):  # polls, PIN-state reads and time pass: nothing logs in again
            await pilot.pause(0.05)
        assert r.boundary.count("C_Login") == 1
        assert r.boundary.count("C_Sign") == 0
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: isinstance(r.app.screen, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 2  # one per Enter, each with the PIN typed for it


async def test_every_pin_buffer_is_zeroed_after_its_one_signature(rig, softhsm_card, watched_pins):
    """Success and failure paths: each buffer the PIN was typed into is overwritten, then let go;
    C_Login got exactly those buffers (no copy of the PIN on the way in Python)."""
    r = rig()
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        screen = await drive.log_in(pilot, code, HOLDER, WRONG_PIN)  # failure: wrong PIN
        await drive.settled(pilot, screen)
        r.boundary.pull_at["C_Sign"] = CARD_1  # failure: the card goes during C_Sign
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: isinstance(r.app.screen, CertificateSelectScreen))
        r.boundary.put_back(CARD_1)
        await drive.choose(pilot, HOLDER)
        await drive.pin_screen(pilot)
        await pilot.press(*softhsm_card.pin[:3], "escape")  # typed, then left: dropped
        await drive.choose(pilot, HOLDER)
        await drive.sign_with(pilot, softhsm_card.pin)  # success
        await drive.start_e_onay(pilot)
        await drive.sign_with(pilot, softhsm_card.pin)  # success
        await drive.done(pilot)

    logins = r.boundary.login_buffers
    assert len(logins) == 4
    typed = held_digits()
    assert len(typed) == 5  # four sent to the card, one abandoned
    # C_Login was handed views of the very buffers the digits were typed into
    assert {id(view.obj) for view in logins} <= {id(pin.store) for pin in typed}
    for pin in typed:
        assert pin.wiped, bytes(pin.store)


def test_pin_wipe_overwrites_before_it_lets_go():
    from tests.safety.secrets_watch import watched_pin

    pin = watched_pin("739146")
    pin.pop()
    assert pin.store[5] == 0  # the digit let go of is overwritten at once
    pin.append("6")
    assert bytes(pin.buffer()) == b"739146"
    with pin:
        pass
    assert pin.wiped


@pytest.mark.parametrize(
    "path",
    [
        "signed",
        "wrong PIN",
        "locked",
        "card out during C_Sign",
        "certificate changed",
        "PIN too short",
        "a bug at C_Sign",
        "challenge expired",
        "the card service cannot start",
    ],
)
def test_the_pin_is_zeroed_on_every_path_through_the_card_service(softhsm_card, path):
    """The card service and the step above it, on the real token: whatever happens, the PIN's
    buffer is overwritten and emptied when the call returns or raises."""
    import secrets

    from tests.safety.boundary import Boundary
    from tests.safety.secrets_watch import watched_pin
    from tui.core.clock import SystemClock
    from tui.core.errors import EonayError
    from tui.core.text import LOGIN_TEXT
    from tui.operations import Operations, ServiceFactories
    from tui.sim.softhsm import CARD_1 as LABEL

    boundary = Boundary()
    card = boundary.card(softhsm_card.module_path)
    try:
        cert = next(c for c in card.certificates() if c.holder == HOLDER and c.usable)
        digits, text = softhsm_card.pin, LOGIN_TEXT
        if path == "wrong PIN":
            digits = WRONG_PIN
        elif path == "locked":
            boundary.flags[LABEL] = CKF_USER_PIN_LOCKED
        elif path == "card out during C_Sign":
            boundary.pull_at["C_Sign"] = LABEL
        elif path == "certificate changed":
            other = next(c for c in card.certificates() if c.holder != HOLDER)
            boundary.swapped[cert.id] = other.der
        elif path == "PIN too short":
            digits = "73"
        elif path == "a bug at C_Sign":
            boundary.crash_at["C_Sign"] = RuntimeError("bug")
        pin = watched_pin(digits)
        if path in ("challenge expired", "the card service cannot start"):
            # The step above the card service: it wipes a PIN it never hands over.
            from tests.screens import values
            from tui.core.clock import FakeClock
            from tui.core.errors import ModuleLoadError

            clock = FakeClock()
            challenge = values.challenge(clock, seconds=10)
            if path == "challenge expired":
                clock.advance(11)

            def service():
                if path == "the card service cannot start":
                    raise ModuleLoadError("/nowhere/module.so", "no such file")
                return card

            ops = Operations(
                ServiceFactories(card=service, portal=lambda: None, clock=SystemClock()),  # type: ignore[arg-type,return-value]
                Settings(),
            )
            with pytest.raises(EonayError):
                ops.sign(challenge, cert, pin)
        elif path == "signed":
            card.sign(cert, pin, text, secrets.token_bytes(32))
        else:
            with pytest.raises((EonayError, RuntimeError)):
                card.sign(cert, pin, text, secrets.token_bytes(32))
        assert pin.wiped, (path, bytes(pin.store))
        assert pin.peak == len(digits)
    finally:
        card.close()
