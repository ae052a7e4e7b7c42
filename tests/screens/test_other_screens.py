"""E-Onay confirm, done, help and error screens; quit keys and the kiosk's idle reset."""

from __future__ import annotations

from functools import partial

import pytest

from tests.screens import values
from tests.screens.harness import ScreenHost, screen_text, settle, wait_for
from tests.screens.services import operations
from tui.app import EonayApp
from tui.core.clock import SystemClock
from tui.core.portal.client import PortalClient
from tui.core.results import Session
from tui.core.settings import Settings
from tui.flow import EOnayStarted, Finish, Restart
from tui.operations import ServiceFactories
from tui.screens.done import DoneScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.error import ErrorDialog
from tui.screens.help import HelpDialog
from tui.steps import Step
from tui.widgets.code_field import CodeField


@pytest.fixture
def portal(sim):
    with PortalClient(sim.url) as client:
        yield client


async def test_e_onay_confirm_takes_two_presses_then_asks_the_portal(portal):
    clock = values.fake_clock()
    challenge = values.challenge(clock, purpose="e-onay")
    calls = []

    def start():
        calls.append(1)
        return EOnayStarted(challenge)

    app = ScreenHost(lambda: EOnayConfirmScreen(values.holder(), start=start), "tr")
    async with app.run_test() as pilot:
        text = screen_text(app)
        assert "TEVFİK EDİS" in text and "E-Onay durumu: etkin değil" in text
        assert "E-ONAY İşlemleri" in text and "Devam Et" not in text
        await pilot.press("enter")
        assert "Devam Et" in screen_text(app) and calls == []
        await pilot.press("enter")
        await settle(pilot)
    assert calls == [1]
    assert app.results == [EOnayStarted(challenge)]


async def test_e_onay_confirm_shows_the_portals_refusal_and_lets_you_try_again(portal):
    ops = operations(portal, SystemClock())
    start = partial(ops.start_e_onay, Session("not-a-session"))  # the real portal says 401
    app = ScreenHost(lambda: EOnayConfirmScreen(values.holder(), start=start))
    async with app.run_test() as pilot:
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert "Your portal session has ended" in screen_text(app)
        assert not app.screen.query_one("#continue").disabled
        assert app.screen.focused is app.screen.query_one("#continue")
    assert app.results == []


@pytest.mark.parametrize(
    ("keys", "outcome"), [(["enter"], Finish()), (["tab", "enter"], Restart())]
)
async def test_done_shows_the_receipt_then_finishes_or_starts_again(keys, outcome):
    app = ScreenHost(lambda: DoneScreen(values.receipt()), "tr")
    async with app.run_test() as pilot:
        text = screen_text(app)
        assert "EONAY-20191113-4F2A9C1B" in text and "TEVFİK EDİS" in text
        assert "13.11.2019 11:31:05" in text and "E-Onay'ınız artık etkin." in text
        await pilot.press(*keys)
    assert app.results == [outcome]


async def test_the_key_bar_names_the_button_enter_presses():
    """Issue 16, point 1, on every screen with buttons: Enter does what the key bar says."""
    app = ScreenHost(lambda: DoneScreen(values.receipt()), "tr")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert "Enter Bitir" in screen_text(app).splitlines()[-1]
        await pilot.press("tab")
        await pilot.pause()
        assert "Enter Baştan Başla" in screen_text(app).splitlines()[-1]
        await pilot.press("enter")
    assert app.results == [Restart()]


async def test_done_says_when_e_onay_was_already_active():
    app = ScreenHost(lambda: DoneScreen(values.receipt(already_active=True)))
    async with app.run_test():
        assert "E-Onay was already active for you." in screen_text(app)


@pytest.mark.parametrize("step", list(Step))
async def test_help_has_a_topic_for_every_step(step):
    app = ScreenHost(lambda: HelpDialog(step), "tr")
    async with app.run_test() as pilot:
        assert "Yardım" in screen_text(app) and "Tuşlar:" in screen_text(app)
        await pilot.press("escape")
    assert app.results == [None]


async def test_help_closes_with_f1_too():
    app = ScreenHost(lambda: HelpDialog(Step.LOGIN_PIN))
    async with app.run_test() as pilot:
        assert "Read the text to sign" in screen_text(app)
        await pilot.press("f1")
    assert app.results == [None]


@pytest.mark.parametrize(("keys", "restart"), [(["enter"], False), (["tab", "enter"], True)])
async def test_the_error_dialog_continues_or_starts_again(keys, restart):
    app = ScreenHost(lambda: ErrorDialog("E-4F2A9C", "/tmp/eonay.log"))
    async with app.run_test() as pilot:
        assert "E-4F2A9C" in screen_text(app)
        await pilot.press(*keys)
    assert app.results == [restart]


def kiosk_app(kiosk: bool, clock) -> EonayApp:
    services = ServiceFactories(
        card=lambda: pytest.fail("no card here"),  # type: ignore[arg-type,return-value]
        portal=lambda: pytest.fail("no portal here"),  # type: ignore[arg-type,return-value]
        clock=clock,
    )
    app = EonayApp(services, Settings(language="en", kiosk=kiosk, kiosk_idle_seconds=120))
    app._warm_up = lambda: None  # type: ignore[method-assign]  # nothing to load here
    return app


async def test_ctrl_q_quits_outside_kiosk_mode():
    app = kiosk_app(False, values.fake_clock())
    async with app.run_test() as pilot:
        assert "Ctrl+Q Quit" in screen_text(app)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0


async def test_kiosk_mode_has_no_quit_key_and_forgets_everything_when_idle():
    clock = values.fake_clock()
    app = kiosk_app(True, clock)
    async with app.run_test() as pilot:
        assert "Quit" not in screen_text(app)
        for key in ("ctrl+q", "ctrl+c"):
            await pilot.press(key)
        await pilot.pause()
        assert app.is_running and app.return_code is None
        first = app.screen
        await pilot.press("4", "9", "5")
        assert first.query_one(CodeField).value == "495"
        clock.advance(119)
        app.reset_if_idle()
        assert app.screen is first
        clock.advance(2)
        app.reset_if_idle()
        await wait_for(pilot, lambda: first.query_one(CodeField).value == "")
        await pilot.pause()
        assert app.screen is first  # home, cleared
        assert len(app.screen_stack) == 1


async def test_the_demo_code_reaches_the_home_screen_even_under_the_help():
    """The demo banner's code comes from a worker; F1's help may be open when it arrives."""
    import threading

    portal_ready = threading.Event()

    class Hints:
        pin = "739146"

        def new_code(self) -> str:
            portal_ready.wait(10)
            return "49586779463734"

    services = ServiceFactories(
        card=lambda: pytest.fail("no card here"),  # type: ignore[arg-type,return-value]
        portal=lambda: pytest.fail("no portal here"),  # type: ignore[arg-type,return-value]
        clock=SystemClock(),
    )
    app = EonayApp(services, Settings(language="en"), demo=Hints())
    app._warm_up = lambda: None  # type: ignore[method-assign]
    async with app.run_test() as pilot:
        assert "Verification code: …" in screen_text(app)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpDialog)
        portal_ready.set()
        await settle(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Verification code: 49586779463734" in screen_text(app))
