"""A vendor driver that crashes or hangs costs a restart of the card process, never the app.

The app runs as `eonay` builds it, with its card in a card process
(`CardProcessClient`), on a PKCS#11 module compiled here that forwards to the
session's SoftHSM token but crashes (SIGSEGV) or hangs in C_Sign while its mode
file says so (`tests.shims.FAULTY_SIGN_C`). The simulator is the portal.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.safety import drive
from tests.safety.conftest import HOLDER, RecordingTransport
from tests.shims import FAULTY_SIGN_C, FaultyDriver, compile_module
from tui.app import EonayApp
from tui.core.card.client import CardDeadlines, CardProcessClient
from tui.core.clock import SystemClock
from tui.core.portal.client import PortalClient
from tui.core.settings import Settings
from tui.operations import ServiceFactories
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.pin_entry import Phase
from tui.sim.server import RunningPortal

pytestmark = pytest.mark.softhsm

STOPPED = "The card's driver stopped unexpectedly. Nothing was signed. Try again."
HUNG = "The card's driver stopped responding and was ended. Nothing was signed. Try again."


@pytest.fixture(scope="module")
def faulty_module(tmp_path_factory) -> Path:
    return compile_module(FAULTY_SIGN_C, tmp_path_factory.mktemp("faulty"), "faultysign")


@pytest.fixture
def driver(faulty_module, softhsm_card, tmp_path, monkeypatch) -> FaultyDriver:
    """The card processes started from now on load the faulty module over SoftHSM."""
    return FaultyDriver.over(faulty_module, softhsm_card.module_path, tmp_path, monkeypatch)


@dataclass
class Setup:
    app: EonayApp
    http: RecordingTransport
    clients: list[CardProcessClient] = field(default_factory=list)


@pytest.fixture
def app_on(sim: RunningPortal) -> Iterator[Callable[..., Setup]]:
    """`app_on(module, deadlines=None)`: the app with its card in a card process on `module`."""
    made: list[Setup] = []

    def build(module: Path, deadlines: CardDeadlines | None = None) -> Setup:
        http = RecordingTransport()
        setup = Setup(EonayApp.__new__(EonayApp), http)

        def card() -> CardProcessClient:
            client = CardProcessClient([str(module)], deadlines=deadlines)
            setup.clients.append(client)
            return client

        services = ServiceFactories(
            card=card,
            portal=lambda: PortalClient(sim.url, transport=http),
            clock=SystemClock(),
            module_paths=(str(module),),
        )
        setup.app = EonayApp(services, Settings(language="en"), poll_interval=0.25)
        made.append(setup)
        return setup

    yield build
    for setup in made:
        for client in setup.clients:
            client.close()


def gone(pid: int) -> bool:
    """The process has ended and was reaped (no zombie left behind either)."""
    return not Path(f"/proc/{pid}").exists()


async def _fault_then_fresh_process(setup: Setup, driver: FaultyDriver, sim, pin: str, said: str):
    """Sign into the fault; see `said`; fix the driver; sign again with a fresh process."""
    record = sim.new_login()
    async with setup.app.run_test() as pilot:
        await drive.enter_code(pilot, record.code)
        await drive.choose(pilot, HOLDER)
        screen = await drive.pin_screen(pilot)
        [client] = setup.clients
        signing = client.pid  # the card process that gets the signing request
        assert signing is not None
        await pilot.press(*pin, "enter")
        await drive.until(pilot, lambda: said in drive.status(pilot))
        first = driver.marks()
        # Back on the PIN screen, ready for another try; nothing went to the portal.
        assert pilot.app.screen is screen and screen.phase is Phase.TYPING
        assert setup.http.posts("/signature") == [] and sim.state.answered() == []
        assert gone(signing)  # the card process that met the fault has ended, and was reaped

        driver.set("sign")  # the driver "fixed": the next try starts a fresh card process
        await drive.sign_with(pilot, pin)
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
        second = client.pid
        assert second not in (None, signing)
        assert setup.app.is_running
    assert [r.code for r in sim.state.answered()] == [record.code]
    assert len(setup.http.posts("/signature")) == 1
    return first


async def test_a_driver_that_crashes_in_c_sign_costs_only_its_card_process(
    driver, app_on, sim, softhsm_card
):
    driver.set("crash")
    setup = app_on(driver.module)
    first = await _fault_then_fresh_process(setup, driver, sim, softhsm_card.pin, STOPPED)
    assert first == ["crash"]  # the driver did get to C_Sign, and crashed there


async def test_a_driver_that_hangs_in_c_sign_is_ended_at_the_deadline(
    driver, app_on, sim, softhsm_card
):
    driver.set("hang")
    setup = app_on(driver.module, CardDeadlines(sign=2.0))
    started = time.monotonic()
    first = await _fault_then_fresh_process(setup, driver, sim, softhsm_card.pin, HUNG)
    assert first == ["hang"]
    assert time.monotonic() - started < 30


UI = textwrap.dedent(
    """
    import sys, threading, time
    from tui.core.card.client import CardProcessClient
    from tui.core.pin import Pin
    client = CardProcessClient([sys.argv[1]])
    cert = next(c for c in client.certificates() if c.usable)
    print(client.pid, flush=True)
    threading.Thread(target=client.sign, args=(cert, Pin.from_str(sys.argv[2]), "x", b"n")).start()
    time.sleep(600)
    """
)


def test_the_card_process_dies_with_the_app_even_inside_a_hung_driver(driver, softhsm_card):
    """kill -9 of the app: the card process, stuck in C_Sign, is killed too (PR_SET_PDEATHSIG)."""
    driver.set("hang")
    app = subprocess.Popen(
        [sys.executable, "-c", UI, str(driver.module), softhsm_card.pin],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        card_pid = int(app.stdout.readline())
        deadline = time.monotonic() + 30
        while driver.marks() != ["hang"]:  # the card process is inside C_Sign now
            assert time.monotonic() < deadline, "the driver never reached C_Sign"
            time.sleep(0.05)
        assert not gone(card_pid)
        os.kill(app.pid, signal.SIGKILL)
        app.wait()
        deadline = time.monotonic() + 10
        while not gone(card_pid):
            status = Path(f"/proc/{card_pid}/stat").read_text().split()[2:4]
            if status[0] == "Z":  # dead; its new parent (init) reaps it when it gets to it
                break
            assert time.monotonic() < deadline, f"the card process outlived the app: {status}"
            time.sleep(0.05)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        if "card_pid" in locals() and not gone(card_pid):  # a failed test leaves no orphan
            os.kill(card_pid, signal.SIGKILL)


def without_ptrace_capability(argv: list[str]) -> list[str]:
    """As root, `argv` runs without CAP_SYS_PTRACE (setpriv), which overrides dumpability."""
    if os.geteuid() != 0:
        return argv
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop CAP_SYS_PTRACE")
    return ["setpriv", "--bounding-set", "-sys_ptrace", *argv]


def may_read_memory(pid: int) -> bool:
    """Can a process of the same user and capabilities open /proc/PID/mem?

    Linux refuses exactly when the target is not dumpable.
    """
    probe = [sys.executable, "-c", f"open('/proc/{pid}/mem', 'rb').close()"]
    return subprocess.run(without_ptrace_capability(probe), capture_output=True).returncode == 0


def core_limit(pid: int) -> list[str]:
    """Soft and hard RLIMIT_CORE as /proc/PID/limits shows them."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return line.split()[4:6]
    raise AssertionError("no core limit line")


HARDENED_UI = textwrap.dedent(
    """
    import sys, time
    from tui.commands.app import harden_ui_process
    from tui.core.card.client import CardProcessClient
    harden_ui_process()  # what `eonay` and `eonay demo` do before the app starts
    client = CardProcessClient([sys.argv[1]])
    print(client.pid, flush=True)
    time.sleep(600)
    """
)


def test_both_processes_are_not_dumpable_and_write_no_core(softhsm_card):
    """PR_SET_DUMPABLE 0 (no ptrace, no /proc/PID/mem) and RLIMIT_CORE 0: the app and its card."""
    control = subprocess.Popen(
        without_ptrace_capability([sys.executable, "-c", "import time; time.sleep(600)"])
    )
    app = subprocess.Popen(
        without_ptrace_capability([sys.executable, "-c", HARDENED_UI, softhsm_card.module_path]),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        card_pid = int(app.stdout.readline())
        if not may_read_memory(control.pid):
            pytest.skip("this system forbids reading even a dumpable process's memory (yama?)")
        assert core_limit(control.pid) != ["0", "0"]  # the check can tell
        for pid in (app.pid, card_pid):
            assert not may_read_memory(pid)
            assert core_limit(pid) == ["0", "0"]
    finally:
        for proc in (app, control):
            proc.kill()
            proc.wait()
