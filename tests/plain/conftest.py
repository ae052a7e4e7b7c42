"""Plain mode in-process, on the real parts, driven through a real pseudo-terminal.

`plain(...)` runs `tui.plain.runner.run_flow` in a thread with its terminal on
the slave side of a pty, the real `Pkcs11Card` over SoftHSM (its module wrapped
by `tests.safety.boundary`, for faults a reader has) and the real `PortalClient`
on the session's simulator over loopback HTTP. The test answers the prompts on
the master side with pexpect, as a person (or the issue's driver) would.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pexpect.fdpexpect
import pytest

from tests.portal_support import (  # noqa: F401 (the simulator's fixtures)
    ShiftedClock,
    Sleeps,
    sim,
    sim_clock,
    sim_server,
    sleeps,
)
from tests.safety.boundary import Boundary
from tui.core.card.pkcs11_card import Pkcs11Card
from tui.core.portal.client import PortalClient
from tui.core.services import ServiceFactories
from tui.core.settings import Settings
from tui.i18n import set_language
from tui.operations import Operations
from tui.plain.runner import run_flow
from tui.plain.terminal import LineTerminal
from tui.sim.server import RunningPortal


@dataclass
class PlainRun:
    """One plain flow on a pty; `child` answers its prompts, `output` is every byte it wrote."""

    child: pexpect.fdpexpect.fdspawn
    boundary: Boundary
    sim: RunningPortal
    clock: ShiftedClock
    card: Pkcs11Card
    portal: PortalClient
    pin: str
    thread: threading.Thread | None = None
    result: list[int] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    written: bytearray = field(default_factory=bytearray)

    def expect(self, pattern: str | bytes, timeout: float = 20.0) -> None:
        """Wait for `pattern` (a regular expression; a str is matched as UTF-8)."""
        wanted = pattern.encode() if isinstance(pattern, str) else pattern
        self.child.expect(wanted, timeout=timeout)

    def answer(self, text: str) -> None:
        self.child.send(text.encode() + b"\r")

    def new_code(self) -> str:
        return self.sim.new_login().code

    def exit_code(self, timeout: float = 20.0) -> int:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the plain flow did not end"
        if self.errors:
            raise self.errors[0]
        return self.result[0]

    def output(self) -> bytes:
        """Everything written so far (read out of the pty by the test's expect calls)."""
        return bytes(self.written)


class _Recorder:
    def __init__(self, sink: bytearray) -> None:
        self.sink = sink

    def write(self, data: bytes) -> None:
        self.sink += data

    def flush(self) -> None:
        pass


@pytest.fixture
def plain(softhsm_card, sim) -> Iterator[Callable[..., PlainRun]]:  # noqa: F811
    """`plain(settings=None, portal_url=None, poll=0.2, check_settings=None)`: start the flow;
    English unless said. `check_settings` replaces the start-up check (none by default)."""
    started: list[tuple[PlainRun, int, int]] = []

    def start(
        settings: Settings | None = None,
        portal_url: str | None = None,
        poll: float = 0.2,
        check_settings: Callable[[], Any] | None = None,
    ) -> PlainRun:
        settings = settings or Settings(language="en")
        set_language(settings.language or "en")
        boundary = Boundary()
        clock = ShiftedClock()
        card = boundary.card(softhsm_card.module_path)
        portal = PortalClient(portal_url or sim.url, clock=clock, sleep=Sleeps())
        services = ServiceFactories(
            card=lambda: card,  # type: ignore[arg-type,return-value]
            portal=lambda: portal,
            clock=clock,
            module_paths=(softhsm_card.module_path,),
            check_settings=check_settings or (lambda: ()),
        )
        ops = Operations(services, settings)
        master, slave = os.openpty()
        out = os.fdopen(os.dup(slave), "w", encoding="utf-8", buffering=1)
        term = LineTerminal(fd=slave, out=out)
        child = pexpect.fdpexpect.fdspawn(master, timeout=20)
        run = PlainRun(child, boundary, sim, clock, card, portal, softhsm_card.pin)
        child.logfile_read = _Recorder(run.written)

        def body() -> None:
            try:
                run.result.append(run_flow(ops, term, settings, poll_interval=poll))
            except BaseException as error:
                run.errors.append(error)
            finally:
                with contextlib.suppress(OSError):  # the test's end may have closed the pty
                    out.flush()

        run.thread = threading.Thread(target=body, name="plain-flow", daemon=True)
        run.thread.start()
        started.append((run, master, slave))
        return run

    yield start
    for run, master, slave in started:
        if run.thread is not None and run.thread.is_alive():
            run.child.send(b"\x04\x04")  # the end of input: the flow ends (twice: a line may wait)
            run.thread.join(10)
        os.close(slave)
        os.close(master)
        run.card.close()
        run.portal.close()
    set_language("tr")
