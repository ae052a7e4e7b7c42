"""Shared pieces for the portal tests: a shiftable clock, the simulator and the client.

One simulator server runs per test session (starting uvicorn costs ~0.2 s);
each test gets a fresh `PortalState` and no faults through `RunningPortal.reset`.
Import the fixtures into a test module to use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tui.core.clock import SystemClock
from tui.core.portal import PortalClient
from tui.sim.server import RunningPortal, running_portal
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


@pytest.fixture(scope="session")
def sim_server() -> Iterator[RunningPortal]:
    with running_portal(trust_roots=[], intermediates=[]) as running:
        yield running


@pytest.fixture
def sim_clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def sim(sim_server: RunningPortal, sim_clock: ShiftedClock) -> RunningPortal:
    """The simulator with a fresh state (trusting the project's test root) and no faults."""
    sim_server.reset(PortalState(clock=sim_clock))
    return sim_server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sim: RunningPortal, sleeps: Sleeps) -> Iterator[PortalClient]:
    with PortalClient(sim.url, sleep=sleeps) as portal_client:
        yield portal_client
