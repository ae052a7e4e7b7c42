"""Plain mode on drivers and readers as they really behave: a PIN pad reader and a card
another program holds (`tests.shims.DRIVER_C` over SoftHSM, in a card process)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect.fdpexpect
import pytest

from tests.plain.conftest import PlainRun, _Recorder
from tests.portal_support import ShiftedClock, Sleeps
from tests.safety.boundary import Boundary
from tests.shims import DRIVER_C, RealDriver, compile_module, driver_env
from tui.core.card.client import CardProcessClient
from tui.core.portal.client import PortalClient
from tui.core.services import ServiceFactories
from tui.core.settings import Settings
from tui.i18n import set_language
from tui.operations import Operations
from tui.plain.runner import run_flow
from tui.plain.terminal import LineTerminal

pytestmark = pytest.mark.softhsm

PROMPT_CODE = "Verification code: "
PROMPT_CERT = re.escape("Certificate number (Enter: ") + r"\d+\): "
BUSY = re.escape(
    "Another program may be using the card (DYS, the Kamu SM app, a browser). "
    "Close it; eonay tries again by itself."
)


@pytest.fixture(scope="module")
def driver_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_module(DRIVER_C, tmp_path_factory.mktemp("driver"), "realdriver")


@pytest.fixture
def driver(driver_module, softhsm_card, tmp_path, monkeypatch) -> RealDriver:
    return RealDriver.over(driver_module, softhsm_card.module_path, tmp_path, monkeypatch)


@pytest.fixture
def plain_on(softhsm_card, sim) -> Iterator[Callable[[Path], PlainRun]]:
    """Plain mode on a pty, its card in a card process on `module`."""
    started: list[tuple[PlainRun, int, int]] = []

    def start(module: Path) -> PlainRun:
        settings = Settings(language="en")
        set_language("en")
        clock = ShiftedClock()
        card = CardProcessClient([str(module)])
        portal = PortalClient(sim.url, clock=clock, sleep=Sleeps())
        services = ServiceFactories(
            card=lambda: card,  # type: ignore[arg-type,return-value]
            portal=lambda: portal,
            clock=clock,
            module_paths=(str(module),),
        )
        ops = Operations(services, settings)
        master, slave = os.openpty()
        out = os.fdopen(os.dup(slave), "w", encoding="utf-8", buffering=1)
        term = LineTerminal(fd=slave, out=out)
        child = pexpect.fdpexpect.fdspawn(master, timeout=20)
        run = PlainRun(child, Boundary(), sim, clock, card, portal, softhsm_card.pin)  # type: ignore[arg-type]
        child.logfile_read = _Recorder(run.written)

        def body() -> None:
            try:
                run.result.append(run_flow(ops, term, settings, poll_interval=0.2))
            except BaseException as error:
                run.errors.append(error)
            finally:
                out.flush()

        run.thread = threading.Thread(target=body, name="plain-flow", daemon=True)
        run.thread.start()
        started.append((run, master, slave))
        return run

    yield start
    for run, master, slave in started:
        if run.thread is not None and run.thread.is_alive():
            run.child.send(b"\x04\x04")
            run.thread.join(10)
        os.close(slave)
        os.close(master)
        run.card.close()
        run.portal.close()
    set_language("tr")


def test_a_pin_pad_reader_in_plain_mode_asks_no_pin(driver, plain_on, softhsm_card, monkeypatch):
    driver.keypad.write_text(softhsm_card.pin)
    driver_env(driver, monkeypatch, pinpad=str(driver.keypad))
    run = plain_on(driver.module)
    run.expect(PROMPT_CODE)
    run.answer(run.new_code())
    run.expect(PROMPT_CERT)
    run.answer("")
    run.expect(re.escape("type the PIN on the reader's keypad."))
    run.expect("Press Enter to sign: ")
    assert b"PIN: " not in run.output()  # no echo-off PIN prompt
    run.answer("")
    run.expect(re.escape("Type the PIN on the card reader's keypad now…"))
    run.expect(re.escape("E-ONAY Operations [Y/n]: "))
    assert driver.lines() == ["login NULL"]


def test_a_held_card_in_plain_mode_is_waited_for(driver, plain_on, softhsm_card, monkeypatch):
    driver_env(driver, monkeypatch, busy=str(driver.busy_flag))
    driver.busy_flag.touch()
    run = plain_on(driver.module)
    run.expect(PROMPT_CODE)
    run.answer(run.new_code())
    run.expect("The card is in use")
    run.expect(BUSY)
    tries = driver.lines().count("busy C_GetTokenInfo")
    run.expect("Press Enter to try again now: ")
    driver.busy_flag.unlink()  # closed: the list comes by itself, no Enter needed
    run.expect(PROMPT_CERT, timeout=10)
    assert driver.lines().count("busy C_GetTokenInfo") >= tries
    run.answer("")
    run.expect("\r\nPIN: ")
    driver.busy_flag.touch()
    run.answer(softhsm_card.pin)
    run.expect(BUSY)
    assert not any(line.startswith("login") for line in driver.lines())  # no PIN spent
    driver.busy_flag.unlink()
    run.expect(re.escape("The card is free again."), timeout=10)
    run.expect("\r\nPIN: ")  # asked again: never retried on its own
    run.answer(softhsm_card.pin)
    run.expect(re.escape("E-ONAY Operations [Y/n]: "))
    assert driver.lines().count("login PIN") == 1
