"""A figure: what eonay did, what the baseline did in the same run, and the target."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Literal

TargetKind = Literal["ratio", "max", "overhead"]


@dataclass(frozen=True)
class Target:
    """How a figure is judged.

    `ratio`: value / baseline <= limit; `max`: value <= limit;
    `overhead`: value - baseline <= limit. `also_max`, when set, is a ceiling on
    the value as well (the remote-card figures: <= 1.5x bare and <= 0.6 s).
    """

    kind: TargetKind
    limit: float
    also_max: float | None = None

    def met(self, value: float, baseline: float) -> bool:
        if self.also_max is not None and value > self.also_max:
            return False
        if self.kind == "ratio":
            return baseline > 0 and value / baseline <= self.limit
        if self.kind == "max":
            return value <= self.limit
        return value - baseline <= self.limit

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "limit": self.limit}
        if self.also_max is not None:
            out["also_max"] = self.also_max
        return out


@dataclass
class Figure:
    id: str
    title: str
    unit: str
    baseline_name: str
    value: float | None = None
    baseline: float | None = None
    target: Target | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def overhead(self) -> float | None:
        if self.value is None or self.baseline is None:
            return None
        return self.value - self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None or self.value is None or self.baseline is None:
            return None
        return self.target.met(self.value, self.baseline)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "unit": self.unit,
            "value": self.value,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": self.ratio,
            "overhead": self.overhead,
            "target": None if self.target is None else self.target.to_json(),
            "met": self.met,
            "status": "error" if self.error else "ok",
            "error": self.error,
            "samples": self.samples,
            "details": self.details,
        }


def median(values: list[float]) -> float:
    return statistics.median(values)
