"""What the app writes to its terminal under Pilot, through the headless driver's public `write`."""

from __future__ import annotations

from typing import Any

import pytest
from textual.drivers.headless_driver import HeadlessDriver


def record_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every string the app hands its (headless) driver from now on, in order."""
    written: list[str] = []
    real_write = HeadlessDriver.write

    def write(self: Any, data: str) -> None:
        written.append(data)
        real_write(self, data)

    monkeypatch.setattr(HeadlessDriver, "write", write)
    return written
