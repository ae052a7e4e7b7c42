"""Shared pieces for the portal tests: a shiftable clock, the simulator and the client.

One simulator server runs per test session (starting uvicorn costs ~0.2 s);
each test gets a fresh `PortalState` and no faults through `RunningPortal.reset`,
once the answers still on their way from the test before have left (a request the
client gave up on, with latency, is still answered later, and would take that
test's faults or count a wrong code in its state).
Import the fixtures into a test module to use them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from tui.core.clock import SystemClock
from tui.core.portal.client import PortalClient
from tui.sim.faults import ConnectionRegistry
from tui.sim.portal_app import make_app
from tui.sim.server import RunningPortal, serving
from tui.sim.state import PortalState


class ShiftedClock(SystemClock):
    """The real clock, plus an offset that tests can move forward (both wall and monotonic)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self.offset

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Sleeps(list[float]):
    """Records the client's pauses between retries instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class InFlight:
    """Wraps an ASGI app and counts the requests it is still working on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._count = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        with self._lock:
            self._count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self._count -= 1

    def wait_idle(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self._count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the simulator still works on {self._count} request(s)")
            time.sleep(0.01)


@dataclass
class CountedPortal(RunningPortal):
    """The simulator, with the count of requests it has not finished answering."""

    in_flight: InFlight


@pytest.fixture(scope="session")
def sim_server() -> Iterator[CountedPortal]:
    registry = ConnectionRegistry()
    app = make_app(PortalState(trust_roots=[], intermediates=[]), None, registry)
    in_flight = InFlight(app)
    # Idle connections stay open for the session: with uvicorn's 5 s, a slow test could
    # meet a connection closed just as it sent on it, and the client would (rightly) post
    # again, which tests that count what was sent would take for a second signature.
    with serving(in_flight, registry=registry, keep_alive=3600) as url:
        yield CountedPortal(url, app, in_flight)


@pytest.fixture
def sim_clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def sim(sim_server: CountedPortal, sim_clock: ShiftedClock) -> RunningPortal:
    """The simulator with a fresh state (trusting the project's test root) and no faults."""
    sim_server.in_flight.wait_idle()  # late answers to the test before must not reach this one
    sim_server.reset(PortalState(clock=sim_clock))
    return sim_server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sim: RunningPortal, sleeps: Sleeps) -> Iterator[PortalClient]:
    with PortalClient(sim.url, sleep=sleeps) as portal_client:
        yield portal_client
