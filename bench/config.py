"""How much to measure: the full run for the docs, the quick one for CI."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Config:
    quick: bool
    workdir: Path
    python: str = sys.executable
    repo: Path = REPO

    @property
    def startup_runs(self) -> int:
        return 3 if self.quick else 15

    @property
    def settle_s(self) -> float:
        return 1.0 if self.quick else 2.0

    @property
    def window_s(self) -> float:
        return 3.0 if self.quick else 10.0

    @property
    def sign_runs(self) -> int:
        return 5 if self.quick else 60

    @property
    def scan_runs(self) -> int:
        return 3 if self.quick else 20

    @property
    def flow_runs(self) -> int:
        return 1 if self.quick else 3
