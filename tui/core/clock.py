"""Deadlines on a monotonic clock, so a wrong wall clock cannot stretch a countdown."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now(self) -> datetime:
        """Wall-clock time, timezone-aware; used only for signing-time and display."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone()


class FakeClock:
    """A clock that moves only when told to: countdown tests run instantly."""

    def __init__(self, wall: datetime | None = None, mono: float = 1000.0) -> None:
        self._wall = wall or datetime(2019, 11, 13, 8, 27, 38, tzinfo=UTC)
        self._mono = mono

    def monotonic(self) -> float:
        return self._mono

    def now(self) -> datetime:
        return self._wall

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self._mono += seconds
        self._wall += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Deadline:
    """A moment on a monotonic clock; time left is always derived, never decremented."""

    at: float
    clock: Clock

    @classmethod
    def in_seconds(cls, seconds: float, clock: Clock) -> Deadline:
        return cls(clock.monotonic() + seconds, clock)

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0.0
