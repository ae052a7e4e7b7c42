"""The whole guide in the real app: SoftHSM card, simulator over loopback HTTP, keyboard only."""

from __future__ import annotations

import logging
import re

import pytest

from tests.conftest import openssl_verify
from tests.screens.harness import screen_text, settle, wait_for
from tui.app import EonayApp
from tui.core.clock import SystemClock
from tui.core.portal.client import PortalClient
from tui.core.settings import Settings
from tui.operations import ServiceFactories
from tui.screens.certificate_select import CertificateSelectScreen
from tui.screens.code_entry import CodeEntryScreen
from tui.screens.done import DoneScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.error import ErrorDialog
from tui.screens.help import HelpDialog
from tui.screens.pin_entry import PinEntryScreen
from tui.sim.softhsm import CARD_1
from tui.widgets.code_field import CodeField

HOLDER = "AYŞE GÜLŞEN ÇİFTÇİ"


@pytest.fixture
def one_holder_card(faulty_card):
    """The real card, showing AYŞE's certificates only (so exactly one can sign)."""
    faulty_card.only_holders = {HOLDER, "GÖKHAN YILDIZ"}
    return faulty_card


def make_app(card, sim, language="tr", poll=5.0) -> EonayApp:
    services = ServiceFactories(
        card=lambda: card,
        portal=lambda: PortalClient(sim.url),
        clock=SystemClock(),
        module_paths=tuple(card.module_paths()),
    )
    return EonayApp(services, Settings(language=language), poll_interval=poll)


async def type_code(pilot, code: str) -> None:
    pilot.app.screen.query_one(CodeField).insert_text_at_cursor(code)
    await pilot.press("enter")


async def on(pilot, screen_type) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, screen_type))
    await settle(pilot)


async def test_the_whole_guide_with_the_keyboard_alone(sim, one_holder_card, softhsm_card):
    record = sim.new_login()
    app = make_app(one_holder_card, sim)
    async with app.run_test() as pilot:
        await on(pilot, CodeEntryScreen)
        assert "Doğrulama Kodu" in screen_text(app)
        await type_code(pilot, record.code)
        await on(pilot, CertificateSelectScreen)
        await wait_for(pilot, lambda: "AYŞE" in screen_text(app))
        await pilot.press("enter")  # the only usable certificate is selected
        await on(pilot, PinEntryScreen)
        assert "İmza: E-imzalı Giriş" in screen_text(app)
        await pilot.press(*softhsm_card.pin, "enter")
        await on(pilot, EOnayConfirmScreen)
        text = screen_text(app)
        assert HOLDER in text and "E-Onay durumu: etkin değil" in text
        assert "imzalı başvuru formu gerekmez" in text
        await pilot.press("enter")  # E-ONAY İşlemleri
        assert "Devam Et" in screen_text(app)
        await pilot.press("enter")  # Devam Et
        await on(pilot, PinEntryScreen)
        assert "İmza: E-Onay" in screen_text(app)
        assert app.screen.certificate == app.state.certificate  # the same certificate
        assert app.screen.query_one("#pin").length == 0  # the PIN is asked again
        await pilot.press(*softhsm_card.pin, "enter")
        # The portal's E-Onay text is longer than the box at 80x24: Enter shows the rest first
        # (one more page, its end), says so, and signs nothing.
        assert "Metnin sonu bu: Enter ile imzalayın." in screen_text(app)
        assert isinstance(app.screen, PinEntryScreen) and not sim.state.answered()[1:]
        await pilot.press("enter")  # its last line was on the screen: now Enter signs
        await on(pilot, DoneScreen)
        text = screen_text(app)
        holder = next(h for h in sim.state.holders() if h.name == HOLDER)
        assert holder.e_onay_active and holder.reference
        assert holder.reference in text and "E-Onay'ınız artık etkin." in text
        await pilot.press("enter")  # Bitir
        await pilot.pause()
    assert app.return_code == 0
    answered = sim.state.answered()
    assert [r.purpose for r in answered] == ["login", "e-onay"]
    assert answered[0].code == record.code
    for r in answered:
        assert r.answer["status"] == "accepted"
        assert openssl_verify(r.answer_cms, softhsm_card.root_pem) == r.text.encode()


async def test_a_second_login_finds_e_onay_already_active(sim, one_holder_card, softhsm_card):
    for round_ in range(2):
        record = sim.new_login()
        app = make_app(one_holder_card, sim, language="en")
        async with app.run_test() as pilot:
            await on(pilot, CodeEntryScreen)
            await type_code(pilot, record.code)
            await on(pilot, CertificateSelectScreen)
            await wait_for(pilot, lambda app=app: "AYŞE" in screen_text(app))
            await pilot.press("enter")
            await on(pilot, PinEntryScreen)
            await pilot.press(*softhsm_card.pin, "enter")
            if round_ == 0:
                await on(pilot, EOnayConfirmScreen)
                await pilot.press("enter", "enter")
                await on(pilot, PinEntryScreen)
                await pilot.press("end", *softhsm_card.pin, "enter")  # the whole text seen
                await on(pilot, DoneScreen)
                first_reference = app.screen.receipt.reference
            else:
                await on(pilot, DoneScreen)  # straight to the end
                text = screen_text(app)
                assert "E-Onay was already active for you." in text
                assert first_reference in text
                await pilot.press("tab", "enter")  # Start again
                await on(pilot, CodeEntryScreen)
                assert app.state.login is None and app.state.certificate is None


async def test_escape_steps_back_and_f1_helps(sim, one_holder_card):
    record = sim.new_login()
    app = make_app(one_holder_card, sim, language="en")
    async with app.run_test() as pilot:
        await on(pilot, CodeEntryScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpDialog)
        assert "14-digit verification code" in screen_text(app)
        await pilot.press("escape")
        await type_code(pilot, record.code)
        await on(pilot, CertificateSelectScreen)
        await wait_for(pilot, lambda: "AYŞE" in screen_text(app))
        await pilot.press("enter")
        await on(pilot, PinEntryScreen)
        await pilot.press("1", "2", "escape")
        await on(pilot, CertificateSelectScreen)
        await pilot.press("escape")
        await on(pilot, CodeEntryScreen)
        assert app.state.login_challenge is None
        # Home: the first screen itself, cleared and ready, and a new code goes on from it.
        assert app.screen_stack == [app.screen]
        field = app.screen.query_one(CodeField)
        assert field.value == "" and not field.disabled and field.has_focus
        await type_code(pilot, sim.new_login().code)
        await on(pilot, CertificateSelectScreen)


async def test_escape_after_login_goes_back_one_step_as_numbered(
    sim, one_holder_card, softhsm_card
):
    """Issue 16, point 3: Esc on step 5 is step 4 (not choosing a certificate again); on
    step 4 Esc folds "Continue" away, and goes no further back than the signed login."""
    record = sim.new_login()
    app = make_app(one_holder_card, sim, language="en")
    async with app.run_test() as pilot:
        await on(pilot, CodeEntryScreen)
        await type_code(pilot, record.code)
        await on(pilot, CertificateSelectScreen)
        await wait_for(pilot, lambda: "AYŞE" in screen_text(app))
        await pilot.press("enter")
        await on(pilot, PinEntryScreen)
        await pilot.press(*softhsm_card.pin, "enter")
        await on(pilot, EOnayConfirmScreen)
        assert "Esc Back" not in screen_text(app)  # the login is signed: nothing before
        await pilot.press("enter")  # E-ONAY Operations
        assert "Esc Back" in screen_text(app)
        await pilot.press("enter")  # Continue
        await on(pilot, PinEntryScreen)
        assert "Step 5/6" in screen_text(app)
        await pilot.press("escape")
        await on(pilot, EOnayConfirmScreen)
        assert "Step 4/6" in screen_text(app) and app.state.e_onay_challenge is None
        assert app.state.login is not None
        await pilot.press("enter")  # E-ONAY Operations: "Continue" shows
        assert app.screen.query_one("#continue").display
        await pilot.press("escape")  # folded away again, still step 4
        await pilot.pause()
        assert isinstance(app.screen, EOnayConfirmScreen)
        assert not app.screen.query_one("#continue-panel").display
        assert app.screen.query_one("#operations").has_focus
        await pilot.press("escape")  # nothing before step 4
        await pilot.pause()
        assert isinstance(app.screen, EOnayConfirmScreen) and app.state.login is not None
        await pilot.press("enter", "enter")  # a new E-Onay text, and it signs as before
        await on(pilot, PinEntryScreen)
        await pilot.press("end", *softhsm_card.pin, "enter")
        await on(pilot, DoneScreen)
    assert [r.purpose for r in sim.state.answered()] == ["login", "e-onay"]


async def test_the_time_runs_from_step_2_and_its_end_there_asks_for_a_new_code(
    sim, one_holder_card
):
    """Issue 16, point 2: a short-lived code shows its time on the certificate list, and
    when it ends there the first screen says what to do."""
    sim.state.ttl = 3.0
    record = sim.new_login()
    app = make_app(one_holder_card, sim)
    async with app.run_test() as pilot:
        await on(pilot, CodeEntryScreen)
        await type_code(pilot, record.code)
        await on(pilot, CertificateSelectScreen)
        assert re.search(r"Kalan süre: 0:0\d", screen_text(app))
        await wait_for(pilot, lambda: isinstance(app.screen, CodeEntryScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "Kodun süresi doldu. Hiçbir şey imzalanmadı." in text
        assert "Portaldan yeni bir kod alın." in text
    assert sim.state.answered() == []


async def test_pulling_the_card_during_the_pin_comes_back_to_the_list(sim, one_holder_card):
    record = sim.new_login()
    app = make_app(one_holder_card, sim, language="en", poll=0.05)
    async with app.run_test() as pilot:
        await on(pilot, CodeEntryScreen)
        await type_code(pilot, record.code)
        await on(pilot, CertificateSelectScreen)
        await wait_for(pilot, lambda: "AYŞE" in screen_text(app))
        await pilot.press("enter")
        await on(pilot, PinEntryScreen)
        await pilot.press("f1")  # help is open when the card goes
        assert isinstance(app.screen, HelpDialog)
        one_holder_card.pulled.add(CARD_1)
        await on(pilot, CertificateSelectScreen)
        assert len(app.screen_stack) == 2  # the help went with the PIN screen
        await wait_for(pilot, lambda: "No card found" in screen_text(app))
        assert "The card was removed" in screen_text(app)
        one_holder_card.pulled.clear()
        await wait_for(pilot, lambda: "AYŞE" in screen_text(app))
        await pilot.press("enter")
        await on(pilot, PinEntryScreen)  # the login challenge is still there


async def test_an_unexpected_error_shows_a_reference_and_the_app_goes_on(
    sim, one_holder_card, caplog
):
    one_holder_card.crash_next_read = RuntimeError("kaboom 123456 Bearer abc.def")
    record = sim.new_login()
    app = make_app(one_holder_card, sim, language="en")
    with caplog.at_level(logging.ERROR, logger="eonay"):
        async with app.run_test() as pilot:
            await on(pilot, CodeEntryScreen)
            await type_code(pilot, record.code)
            await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
            reference = app.screen.reference
            assert re.fullmatch(r"E-[0-9A-F]{6}", reference)
            assert reference in screen_text(app)
            await pilot.press("enter")  # Continue
            await on(pilot, CertificateSelectScreen)
            await pilot.pause(0.1)
            app.screen.reread()
            await wait_for(pilot, lambda: "AYŞE" in screen_text(app))
    [entry] = [r for r in caplog.records if reference in r.getMessage()]
    message = entry.getMessage()
    assert "RuntimeError" in message and "kaboom" in message
    assert "123456" not in message and "abc.def" not in message


async def test_a_portal_address_that_is_not_allowed_is_explained_at_code_entry(one_holder_card):
    from tui.commands.app import build_services

    settings = Settings(portal_url="http://portal.example/", modules=("/nonexistent.so",))
    services = build_services(settings)
    app = EonayApp(
        ServiceFactories(card=lambda: one_holder_card, portal=services.portal, clock=SystemClock()),
        Settings(language="en"),
    )
    async with app.run_test() as pilot:
        await on(pilot, CodeEntryScreen)
        await type_code(pilot, "12345678901234")
        await wait_for(pilot, lambda: "Plain http:// is allowed only" in screen_text(app))
        assert isinstance(app.screen, CodeEntryScreen)
