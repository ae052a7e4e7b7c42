"""The whole app, its card in a card process, on drivers and readers as they really behave.

The module is `tests.shims.DRIVER_C`, compiled here, forwarding to the session's SoftHSM
token: a PIN pad reader (CKF_PROTECTED_AUTHENTICATION_PATH, the PIN "typed" on its
keypad is what the test writes to a file), a card another program holds until the test
frees it, and a count of the sessions open at the PKCS#11 boundary. The simulator is
the portal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.safety import drive
from tests.safety.conftest import HOLDER, WRONG_PIN, RecordingTransport
from tests.screen_text import screen_text
from tests.shims import DRIVER_C, RealDriver, compile_module, driver_env
from tui.app import EonayApp
from tui.core.card.client import CardProcessClient
from tui.core.clock import SystemClock
from tui.core.portal.client import PortalClient
from tui.core.settings import Settings
from tui.operations import ServiceFactories
from tui.screens.certificate_select import CertificateSelectScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.final_try import FinalTryDialog
from tui.screens.pin_entry import Phase
from tui.sim.server import RunningPortal
from tui.widgets.countdown import Countdown
from tui.widgets.keypad import Keypad
from tui.widgets.pin_field import PinField

pytestmark = pytest.mark.softhsm

BUSY = (
    "Another program may be using the card (DYS, the Kamu SM app, a browser). "
    "Close it; eonay tries again by itself."
)


@pytest.fixture(scope="module")
def driver_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_module(DRIVER_C, tmp_path_factory.mktemp("driver"), "realdriver")


@pytest.fixture
def driver(driver_module, softhsm_card, tmp_path, monkeypatch) -> RealDriver:
    """Card processes started from now on load the driver over SoftHSM."""
    return RealDriver.over(driver_module, softhsm_card.module_path, tmp_path, monkeypatch)


@pytest.fixture
def app_on(sim: RunningPortal) -> Iterator[Callable[[Path], tuple[EonayApp, RecordingTransport]]]:
    """The app with its card in a card process on `module`, as `eonay` builds it."""
    clients: list[CardProcessClient] = []

    def build(module: Path) -> tuple[EonayApp, RecordingTransport]:
        http = RecordingTransport()

        def card() -> CardProcessClient:
            client = CardProcessClient([str(module)])
            clients.append(client)
            return client

        services = ServiceFactories(
            card=card,
            portal=lambda: PortalClient(sim.url, transport=http),
            clock=SystemClock(),
            module_paths=(str(module),),
        )
        return EonayApp(services, Settings(language="en"), poll_interval=0.25), http

    yield build
    for client in clients:
        client.close()


async def countdown_runs(pilot, countdown: Countdown) -> None:
    await drive.until(pilot, lambda: countdown.seconds > 0)
    left = countdown.seconds
    await drive.until(pilot, lambda: 0 < countdown.seconds < left)


async def ready(pilot) -> None:
    """Until the SIGN button is back from its last press (Textual ignores one before)."""
    button = pilot.app.screen.query_one("#sign")
    await drive.until(pilot, lambda: not button.has_class("-active") and button.has_focus)


def text_of(pilot, selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


async def test_a_pin_pad_reader_signs_both_steps_with_the_pin_typed_on_the_reader(
    driver, app_on, sim, softhsm_card, monkeypatch
):
    driver.keypad.write_text(softhsm_card.pin)
    driver_env(driver, monkeypatch, pinpad=str(driver.keypad), sessions=str(driver.sessions))
    app, _http = app_on(driver.module)
    record = sim.new_login()
    async with app.run_test() as pilot:
        await drive.enter_code(pilot, record.code)
        await drive.choose(pilot, HOLDER)
        for step in ("login", "e-onay"):
            screen = await drive.pin_screen(pilot)
            # No PIN field and no keypad: the reader has its own, and the screen says so.
            assert not screen.query(PinField) and not screen.query(Keypad)
            assert "type the PIN on the reader's keypad" in text_of(pilot, "#pin-pad")
            await countdown_runs(pilot, screen.query_one(Countdown))
            # Digits typed here go nowhere; Enter starts the login on the reader.
            await pilot.press("end", "1", "2", "enter")
            await drive.settled(pilot, screen)
            if step == "login":
                await drive.start_e_onay(pilot)
        await drive.done(pilot)
    assert driver.lines() == ["login NULL", "login NULL"]  # never a PIN from eonay
    answered = sim.state.answered()  # the login, then the E-Onay, each signed once
    assert [r.purpose for r in answered] == ["login", "e-onay"] and answered[0].code == record.code
    assert driver.open_sessions() == 0


async def test_a_wrong_pin_and_cancel_on_the_reader_say_what_they_say_today(
    driver, app_on, sim, softhsm_card, monkeypatch
):
    driver_env(driver, monkeypatch, pinpad=str(driver.keypad))
    app, http = app_on(driver.module)
    record = sim.new_login()
    async with app.run_test() as pilot:
        await drive.enter_code(pilot, record.code)
        await drive.choose(pilot, HOLDER)
        screen = await drive.pin_screen(pilot)
        driver.keypad.write_text(WRONG_PIN)
        await pilot.press("end", "enter")
        await drive.until(pilot, lambda: "Wrong PIN." in drive.status(pilot))
        assert screen.phase is Phase.TYPING
        driver.keypad.write_text("cancel")
        await ready(pilot)
        await pilot.press("enter")
        said = "The PIN entry was cancelled on the card reader. Nothing was signed."
        await drive.until(pilot, lambda: drive.status(pilot) == said)
        assert screen.phase is Phase.TYPING and http.posts("/signature") == []
        driver.keypad.write_text(softhsm_card.pin)
        await ready(pilot)
        await pilot.press("enter")
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    # Each Enter was one login on the reader; none was made by eonay on its own.
    assert driver.lines() == ["login NULL"] * 3
    assert [r.code for r in sim.state.answered()] == [record.code]


async def test_a_card_another_program_holds_is_waited_for_and_costs_no_pin(
    driver, app_on, sim, softhsm_card, monkeypatch
):
    driver_env(driver, monkeypatch, busy=str(driver.busy_flag))
    driver.busy_flag.touch()  # DYS has the card when eonay starts
    app, http = app_on(driver.module)
    record = sim.new_login()
    async with app.run_test() as pilot:
        await drive.enter_code(pilot, record.code)
        await drive.until(pilot, lambda: drive.on(pilot, CertificateSelectScreen))
        await drive.until(pilot, lambda: BUSY in text_of(pilot, "#no-card-detail"))
        assert text_of(pilot, "#no-card-title") == "The card is in use"
        tries = driver.lines().count("busy C_GetTokenInfo")
        started = time.monotonic()
        await drive.until(pilot, lambda: driver.lines().count("busy C_GetTokenInfo") >= tries + 2)
        assert time.monotonic() - started >= 2.0  # read again every 2 s (the poll is 0.25 s)
        driver.busy_flag.unlink()  # DYS closed: the list comes by itself
        await drive.choose(pilot, HOLDER)
        screen = await drive.pin_screen(pilot)
        driver.busy_flag.touch()  # taken again while the PIN is typed
        await pilot.press("end", *softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: drive.status(pilot) == BUSY)
        assert screen.phase is Phase.TYPING
        assert screen.query_one(PinField).length == 0  # the PIN was used once; typed again
        assert "login PIN" not in driver.lines()  # no PIN went to the busy card
        busy_before = len([line for line in driver.lines() if line.startswith("busy")])
        started = time.monotonic()
        await drive.until(
            pilot,
            lambda: (
                len([line for line in driver.lines() if line.startswith("busy")]) >= busy_before + 2
            ),
        )
        assert time.monotonic() - started >= 2.0  # tries again every 2 s, no faster
        driver.busy_flag.unlink()
        await drive.until(pilot, lambda: "free again" in drive.status(pilot))
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert driver.lines().count("login PIN") == 1  # one signature, one login
    assert len(http.posts("/signature")) == 1
    assert [r.code for r in sim.state.answered()] == [record.code]


async def test_no_session_stays_open_after_a_signature(
    driver, app_on, sim, softhsm_card, monkeypatch
):
    """Counted at the PKCS#11 boundary, in the card process: on the E-Onay screen and on
    the done screen, every session eonay opened is closed, so DYS or a browser can use
    the card."""
    driver_env(driver, monkeypatch, sessions=str(driver.sessions))
    app, _http = app_on(driver.module)
    record = sim.new_login()
    async with app.run_test() as pilot:
        await drive.log_in(pilot, record.code, HOLDER, softhsm_card.pin)
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
        await pilot.pause(1.5)  # what idle polling there is, runs
        assert driver.open_sessions() == 0, driver.sessions.read_text()
        await drive.start_e_onay(pilot)
        await drive.sign_with(pilot, softhsm_card.pin)
        await drive.done(pilot)
        await pilot.pause(1.5)
        assert driver.open_sessions() == 0, driver.sessions.read_text()
        assert "opened=0" not in driver.sessions.read_text()  # the counter did see sessions


async def test_the_final_try_on_a_pin_pad_reader_asks_first_then_the_reader(
    driver, app_on, sim, softhsm_card, monkeypatch
):
    driver.keypad.write_text(softhsm_card.pin)
    final_try = hex(0x20000)  # CKF_USER_PIN_FINAL_TRY
    driver_env(driver, monkeypatch, pinpad=str(driver.keypad), flags=final_try)
    app, _http = app_on(driver.module)
    record = sim.new_login()
    async with app.run_test() as pilot:
        await drive.enter_code(pilot, record.code)
        await drive.choose(pilot, HOLDER)
        screen = await drive.pin_screen(pilot)
        await ready(pilot)
        await pilot.press("end", "enter")
        await drive.until(pilot, lambda: isinstance(app.screen, FinalTryDialog))
        assert "typing the PIN on the card reader's keypad" in screen_text(app)
        await pilot.press("enter")  # Cancel has the focus: nothing happens on the reader
        await drive.until(pilot, lambda: app.screen is screen)
        assert driver.lines() == []
        await ready(pilot)
        await pilot.press("enter")
        await drive.until(pilot, lambda: isinstance(app.screen, FinalTryDialog))
        await pilot.press("tab", "enter")  # "Yes, sign"
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert driver.lines() == ["login NULL"]
