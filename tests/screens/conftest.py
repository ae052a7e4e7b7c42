"""Fixtures of the screen tests: a fixed time zone, the simulator, the real card, faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.portal_support import sim, sim_clock, sim_server, sleeps  # noqa: F401
from tests.screens.card_faults import FaultyCard


@pytest.fixture(autouse=True)
def istanbul_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times on screen are local: fix the zone (+03:00, no tzdata needed) for every test."""
    monkeypatch.setenv("TZ", "<+03>-03")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def faulty_card(card) -> FaultyCard:
    """The session's real SoftHSM card, wrapped so a test can pull a token or lock the PIN."""
    return FaultyCard(card)
