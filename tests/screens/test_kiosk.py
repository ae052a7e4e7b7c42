"""Kiosk mode in the real app: no way out, nothing kept between people, a shuffled keypad.

The card is the session's real SoftHSM token, the portal the simulator over
loopback HTTP. Idle time comes from a FakeClock given to the app (the portal
client and the card keep the real clock, so challenges do not expire), and
the app checks for idleness every 50 ms, so nothing here waits two minutes.
"""

from __future__ import annotations

import gc
import os
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PyKCS11 import CKR_SESSION_HANDLE_INVALID, CKS_RO_PUBLIC_SESSION, CKS_RO_USER_FUNCTIONS
from textual.app import SuspendNotSupported
from textual.command import CommandPalette
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import Button, Static

from tests.screens.harness import screen_text, settle, wait_for
from tui.app import IDLE_NOTICE, EonayApp
from tui.core.card.pkcs11 import CkError, Pkcs11Module
from tui.core.card_info import CertificateInfo, Signature
from tui.core.challenge import Challenge
from tui.core.clock import FakeClock
from tui.core.errors import TextNotAllowedError
from tui.core.pin import Pin
from tui.core.portal.client import PortalClient
from tui.core.results import LoginAccepted, Session
from tui.core.settings import Settings
from tui.core.text import LOGIN_TEXT
from tui.flow import START, FlowState, Receipt
from tui.i18n import _
from tui.operations import ServiceFactories
from tui.screens.certificate_select import CertificateSelectScreen
from tui.screens.code_entry import CodeEntryScreen
from tui.screens.done import DoneScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.help import HelpDialog
from tui.screens.pin_entry import PinEntryScreen
from tui.sim.softhsm import CARD_1
from tui.sim.state import E_ONAY_TEXT
from tui.steps import Step
from tui.widgets.code_field import CodeField
from tui.widgets.keypad import STANDARD_ORDER, Keypad, KeypadButton, shuffled_order
from tui.widgets.pin_field import PinField

HOLDER = "AYŞE GÜLŞEN ÇİFTÇİ"
IDLE = 120
POLL = 0.25  # seconds between the screens' card polls
# Kiosk mode signs in strict mode: only allowlisted texts (the simulator's E-Onay text here).
ALLOWLIST = {"login": (LOGIN_TEXT,), "e-onay": (E_ONAY_TEXT,)}
# What must not outlive a person's turn at the kiosk.
SECRETS = (Session, LoginAccepted, Challenge, Pin, Signature, CertificateInfo, Receipt)


@pytest.fixture
def one_holder_card(faulty_card):
    faulty_card.only_holders = {HOLDER}
    return faulty_card


def make_app(card, sim, clock, *, kiosk=True, shuffle=False, randbelow=None, poll=5.0) -> EonayApp:
    services = ServiceFactories(
        card=lambda: card,
        portal=lambda: PortalClient(sim.url),
        clock=clock,
        module_paths=tuple(card.module_paths()),
    )
    settings = Settings(
        language="en",
        kiosk=kiosk,
        kiosk_idle_seconds=IDLE,
        shuffle_keypad=shuffle,
        allowlist=ALLOWLIST,
    )
    return EonayApp(
        services, settings, poll_interval=poll, idle_check_interval=0.05, randbelow=randbelow
    )


async def on(pilot, screen_type) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, screen_type))
    await settle(pilot)


async def to_pin_screen(pilot, sim) -> None:
    """Code entry to the login PIN screen, by keyboard."""
    app = pilot.app
    await on(pilot, CodeEntryScreen)
    app.screen.query_one(CodeField).insert_text_at_cursor(sim.new_login().code)
    await pilot.press("enter")
    await on(pilot, CertificateSelectScreen)
    await wait_for(pilot, lambda: HOLDER in screen_text(app))
    await pilot.press("enter")
    await on(pilot, PinEntryScreen)


async def log_in(pilot, sim, pin: str) -> None:
    """Code entry to the E-Onay confirmation, by keyboard."""
    await to_pin_screen(pilot, sim)
    await pilot.press(*pin, "enter")
    await on(pilot, EOnayConfirmScreen)


async def to_e_onay_pin(pilot, sim, pin: str) -> None:
    await log_in(pilot, sim, pin)
    await pilot.press("enter", "enter")  # E-ONAY Operations, Continue
    await on(pilot, PinEntryScreen)


def alive(*types: type, besides: frozenset[int] = frozenset()) -> list[object]:
    """Every live object of these types (after a full collection), but those in `besides`."""
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, types) and id(o) not in besides]


@pytest.fixture
def earlier() -> Iterator[frozenset[int]]:
    """What earlier tests of this process left alive: not this test's business.

    Held until the test ends, so no object of the test can take one of their ids.
    """
    kept = alive(*SECRETS)
    yield frozenset(id(o) for o in kept)
    del kept


def live_pins() -> list[Pin]:
    """Every PIN buffer in the process (whoever made it: none may hold digits)."""
    return [obj for obj in alive(Pin) if isinstance(obj, Pin)]


async def still_alive(pilot, earlier: frozenset[int], within: float = 3.0) -> list[object]:
    """What of a person's turn is still in memory once the removed screens are let go.

    A removed screen can outlive the reset by a moment: a card poll it started
    may still be running in a worker thread (at most one card call), and asyncio
    keeps a cancelled timer, with the context naming the screen that started
    it, until the time it was set for (at most one poll interval). So this
    looks again until `within` seconds have passed, then tells what is left.
    (Anything kept for good, such as a worker remembered by its pool thread, is
    still there then.)
    """
    deadline = time.monotonic() + within
    while True:
        left = alive(*SECRETS, besides=earlier)
        if not left or time.monotonic() > deadline:
            return left
        del left
        await pilot.pause(0.1)


def forgotten(app: EonayApp, message: str | None) -> None:
    """The app is at a fresh code entry, its state is the start's, nothing typed."""
    assert app.step is Step.CODE_ENTRY
    assert app.state == FlowState(message=message)
    assert [type(s) for s in app.screen_stack] == [CodeEntryScreen]  # home, every step gone
    field = app.screen.query_one(CodeField)
    assert field.value == "" and not field.disabled
    assert str(app.screen.query_one("#status", Static).render()) == (message or "")


# --- no way out ---------------------------------------------------------------------


class DriverRecorder:
    """Stands in for the terminal driver: records what the app asks of the terminal."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def open_url(self, url: str, new_tab: bool = True) -> None:
        self.calls.append(f"open {url}")

    def suspend_application_mode(self) -> None:
        self.calls.append("suspend")

    def kill(self, pid: int, sig: int) -> None:
        self.calls.append(f"signal {sig}")

    def method(self, name: str) -> Callable[..., None]:
        """`name` as a driver method: the driver is ignored, the call recorded here."""
        recorded = getattr(self, name)

        def method(_driver: object, *args: Any, **kwargs: Any) -> None:
            recorded(*args, **kwargs)

        return method


@pytest.mark.parametrize("kiosk", [True, False])
async def test_quit_keys_end_the_app_only_outside_kiosk_mode(kiosk, monkeypatch):
    services = ServiceFactories(
        card=lambda: pytest.fail("no card here"),  # type: ignore[arg-type,return-value]
        portal=lambda: pytest.fail("no portal here"),  # type: ignore[arg-type,return-value]
        clock=FakeClock(),
    )
    app = EonayApp(services, Settings(language="en", kiosk=kiosk))
    app._warm_up = lambda: None  # type: ignore[method-assign]  # nothing to load here
    async with app.run_test() as pilot:
        await on(pilot, CodeEntryScreen)
        first = app.screen
        footer = screen_text(app).splitlines()[-1]
        assert ("Quit" in footer) is not kiosk
        for key in ("ctrl+c", "ctrl+p", "ctrl+z", "ctrl+backslash", "f2", "f10", "ctrl+q"):
            await pilot.press(key)
            await pilot.pause()
            if not kiosk and key == "ctrl+q":
                break
            assert app.is_running and app.return_code is None, key
            assert app.screen is first, key  # no palette, no other screen
            assert not any(isinstance(s, CommandPalette) for s in app.screen_stack)
        # Nor by the actions themselves, should any markup or binding ever reach them.
        recorder = DriverRecorder()
        with monkeypatch.context() as patched:  # the headless driver asks the recorder instead
            patched.setattr(HeadlessDriver, "can_suspend", True)
            for name in ("open_url", "suspend_application_mode"):
                patched.setattr(HeadlessDriver, name, recorder.method(name))
            patched.setattr(os, "kill", recorder.kill)  # a suspend would stop this process
            app.open_url("https://example.invalid/")
            if kiosk:
                app.action_suspend_process()
                with pytest.raises(SuspendNotSupported), app.suspend():
                    pytest.fail("a kiosk gave the terminal away")
        assert recorder.calls == ([] if kiosk else ["open https://example.invalid/"])
        if kiosk:
            await app.run_action("quit")
            await app.run_action("command_palette")
            await pilot.pause()
            assert app.is_running and app.screen is first
            actions = {b.binding.action.removeprefix("app.") for b in app.active_bindings.values()}
            assert not actions & {"quit", "quit_hint", "command_palette", "suspend_process"}
    assert app.return_code == (None if kiosk else 0)


# --- forgetting everything --------------------------------------------------------------


async def test_idle_reset_forgets_the_person_and_ends_the_token_login(
    sim, one_holder_card, softhsm_card, earlier
):
    clock = FakeClock()
    app = make_app(one_holder_card, sim, clock, poll=POLL)
    module = Pkcs11Module(softhsm_card.module_path)
    try:
        async with app.run_test() as pilot:
            await to_e_onay_pin(pilot, sim, softhsm_card.pin)
            await pilot.press("1", "2", "3")
            assert app.screen.query_one(PinField).length == 3
            await pilot.press("f1")  # a dialog over the step goes too
            assert isinstance(app.screen, HelpDialog)
            assert app.state.login is not None and app.state.certificate is not None
            # The scan sees what a person's turn leaves in memory (so it can fail)...
            kinds = {type(o) for o in alive(*SECRETS, besides=earlier)}  # (none kept)
            assert {Session, LoginAccepted, Challenge, CertificateInfo, Signature} <= kinds
            assert any(len(pin) == 3 for pin in live_pins())
            # ...and a session logged in on the token, as a signature cut short would leave.
            slot = next(t.slot_id for t in one_holder_card.tokens() if t.label == CARD_1)
            leftover = module.open_session(slot)
            leftover.login(bytearray(softhsm_card.pin.encode()))
            assert leftover.state() == CKS_RO_USER_FUNCTIONS

            # The countdown ticks on meanwhile; it is not somebody at the keyboard.
            clock.advance(IDLE - 1)
            await pilot.pause(0.3)
            assert isinstance(app.screen, HelpDialog)
            clock.advance(2)
            await wait_for(pilot, lambda: isinstance(app.screen, CodeEntryScreen))
            await settle(pilot)  # the card's reset runs in a worker

            forgotten(app, _(IDLE_NOTICE))
            assert _(IDLE_NOTICE) in " ".join(screen_text(app).split())
            assert not any(len(pin) for pin in live_pins())  # wiped at once
            left = await still_alive(pilot, earlier)
            assert left == [], f"still in memory after the reset: {left!r}"
            assert one_holder_card.resets == 1
            # At the token: the old session is gone, and with it the login.
            with pytest.raises(CkError) as gone:
                leftover.state()
            assert gone.value.rv == CKR_SESSION_HANDLE_INVALID
            fresh = module.open_session(slot)
            assert fresh.state() == CKS_RO_PUBLIC_SESSION
            fresh.close()

            # Idle again: the notice goes too; after that, an untouched start stays as it is.
            clock.advance(IDLE + 1)
            await wait_for(pilot, lambda: one_holder_card.resets == 2)
            await settle(pilot)
            forgotten(app, None)
            clock.advance(IDLE + 1)
            await pilot.pause(0.2)
            forgotten(app, None)
            assert one_holder_card.resets == 2  # an untouched start is left as it is
    finally:
        module.close()


async def test_a_key_puts_the_idle_reset_off():
    services = ServiceFactories(
        card=lambda: pytest.fail("no card here"),  # type: ignore[arg-type,return-value]
        portal=lambda: pytest.fail("no portal here"),  # type: ignore[arg-type,return-value]
        clock=(clock := FakeClock()),
    )
    settings = Settings(language="en", kiosk=True, kiosk_idle_seconds=IDLE)
    app = EonayApp(services, settings, idle_check_interval=0.05)
    app._warm_up = lambda: None  # type: ignore[method-assign]
    async with app.run_test() as pilot:
        await on(pilot, CodeEntryScreen)
        first = app.screen
        await pilot.press("4", "9")
        clock.advance(IDLE - 20)
        await pilot.press("5")
        clock.advance(IDLE - 20)  # long since the first key, not since the last
        await pilot.pause(0.2)
        assert app.screen is first and first.query_one(CodeField).value == "495"
        clock.advance(21)
        await wait_for(pilot, lambda: first.query_one(CodeField).value == "")
        forgotten(app, _(IDLE_NOTICE))


async def test_outside_kiosk_mode_nothing_is_reset_for_idleness():
    services = ServiceFactories(
        card=lambda: pytest.fail("no card here"),  # type: ignore[arg-type,return-value]
        portal=lambda: pytest.fail("no portal here"),  # type: ignore[arg-type,return-value]
        clock=(clock := FakeClock()),
    )
    app = EonayApp(services, Settings(language="en"), idle_check_interval=0.05)
    app._warm_up = lambda: None  # type: ignore[method-assign]
    async with app.run_test() as pilot:
        await on(pilot, CodeEntryScreen)
        first = app.screen
        await pilot.press("4")
        clock.advance(10 * IDLE)
        await pilot.pause(0.2)
        assert app.screen is first and first.query_one(CodeField).value == "4"


async def test_finishing_starts_over_for_the_next_person(
    sim, one_holder_card, softhsm_card, earlier
):
    app = make_app(one_holder_card, sim, FakeClock(), poll=POLL)
    async with app.run_test() as pilot:
        await to_e_onay_pin(pilot, sim, softhsm_card.pin)
        await pilot.press("end", *softhsm_card.pin, "enter")  # the whole text seen, signed
        await on(pilot, DoneScreen)
        assert "Your E-Onay is now active." in screen_text(app)
        await pilot.press("f1")
        help_text = " ".join(screen_text(app).split())
        assert "clears everything for the next person" in help_text
        assert "leaves the app" not in help_text and "quits" not in help_text
        await pilot.press("escape")
        await on(pilot, DoneScreen)
        await pilot.press("enter")  # Finish
        await wait_for(pilot, lambda: isinstance(app.screen, CodeEntryScreen))
        await settle(pilot)
        assert app.is_running and app.return_code is None
        forgotten(app, None)
        assert app.state == START
        assert not any(len(pin) for pin in live_pins())
        left = await still_alive(pilot, earlier)
        assert left == [], f"still in memory after finishing: {left!r}"
        assert one_holder_card.resets == 1
        holder = next(h for h in sim.state.holders() if h.name == HOLDER)
        assert holder.e_onay_active  # the turn itself was not undone


async def test_strict_mode_is_on_in_kiosk_mode(sim, one_holder_card, softhsm_card):
    """The E-Onay text is refused (before any PIN) when it is not in the allowlist."""
    app = make_app(one_holder_card, sim, FakeClock())
    app.ops.settings = app.settings = Settings(language="en", kiosk=True)  # default allowlist
    async with app.run_test() as pilot:
        await log_in(pilot, sim, softhsm_card.pin)
        await pilot.press("enter", "enter")
        refusal = TextNotAllowedError().user_message()
        await wait_for(pilot, lambda: refusal in " ".join(screen_text(app).split()))
        assert isinstance(app.screen, EOnayConfirmScreen)
        assert sum(1 for r in sim.state.answered() if r.purpose == "e-onay") == 0


# --- the shuffled keypad ----------------------------------------------------------------


def keypad_order(app: EonayApp) -> str:
    return "".join(app.screen.query_one(Keypad).order)


async def click_digit(pilot, digit: str) -> None:
    """Click where the digit is drawn on the screen, as a person would."""
    app = pilot.app
    [button] = [b for b in app.screen.query(KeypadButton) if b.name == digit]
    region = button.region
    x, y = region.x + region.width // 2, region.y + region.height // 2
    assert screen_text(app).splitlines()[y][region.x : region.right].strip() == digit
    await pilot.click(offset=(x, y))


async def test_the_keypad_is_shuffled_each_time_and_still_types_the_right_digits(
    sim, one_holder_card, softhsm_card
):
    app = make_app(
        one_holder_card, sim, FakeClock(), shuffle=True, randbelow=random.Random(7).randrange
    )
    expected = random.Random(7).randrange
    orders = []
    async with app.run_test(size=(100, 40)) as pilot:
        await on(pilot, CodeEntryScreen)
        app.screen.query_one(CodeField).insert_text_at_cursor(sim.new_login().code)
        await pilot.press("enter")
        for opening in range(3):
            await on(pilot, CertificateSelectScreen)
            await wait_for(pilot, lambda: HOLDER in screen_text(app))
            await pilot.press("enter")
            await on(pilot, PinEntryScreen)
            orders.append(keypad_order(app))
            assert orders[-1] == shuffled_order(expected)  # the injected source decides
            if opening < 2:
                await pilot.press("escape")
        assert len(set(orders)) == 3 and STANDARD_ORDER not in orders
        for digit in softhsm_card.pin:
            await click_digit(pilot, digit)
        assert app.screen.query_one(PinField).length == len(softhsm_card.pin)
        sign = app.screen.query_one("#sign", Button)
        await pilot.click(offset=(sign.region.x + 1, sign.region.y))
        # The real token accepted the PIN, the simulator the signature.
        await on(pilot, EOnayConfirmScreen)
    assert [r.purpose for r in sim.state.answered()] == ["login"]


def test_the_default_shuffle_uses_secrets(monkeypatch):
    import tui.widgets.keypad as keypad

    asked: list[int] = []

    def randbelow(n: int) -> int:
        asked.append(n)
        return 0

    monkeypatch.setattr(keypad.secrets, "randbelow", randbelow)
    order = shuffled_order()
    assert asked == list(range(10, 1, -1))
    assert sorted(order) == sorted(STANDARD_ORDER) and order != STANDARD_ORDER


def test_a_shuffle_is_a_permutation_and_varies():
    orders = {shuffled_order() for _ in range(50)}
    assert all(sorted(o) == sorted(STANDARD_ORDER) for o in orders)
    assert len(orders) > 1  # 50 equal draws out of 10! orders: never, in practice


async def test_without_the_option_the_keypad_keeps_its_order(sim, one_holder_card, softhsm_card):
    app = make_app(one_holder_card, sim, FakeClock(), kiosk=False)
    async with app.run_test() as pilot:
        await to_pin_screen(pilot, sim)
        assert keypad_order(app) == STANDARD_ORDER
