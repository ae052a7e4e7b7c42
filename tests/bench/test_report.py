"""The figure model and the table: ratios and targets computed as documented."""

from __future__ import annotations

from bench import report
from bench.model import Figure, Target


def test_targets_judge_ratio_absolute_and_overhead():
    assert Target("ratio", 1.2).met(120.0, 100.0)
    assert not Target("ratio", 1.2).met(121.0, 100.0)
    assert Target("max", 60.0).met(59.0, 2000.0)
    assert not Target("max", 60.0).met(61.0, 2000.0)
    assert Target("overhead", 2.0).met(3.0, 1.0)
    assert not Target("overhead", 2.0).met(3.5, 1.0)


def test_json_and_table_carry_value_baseline_and_ratio():
    fig = Figure("x", "X", "ms", "bare", value=30.0, baseline=20.0, target=Target("ratio", 1.5))
    data = fig.to_json()
    assert data["ratio"] == 1.5 and data["met"] is True and data["status"] == "ok"
    failed = Figure("y", "Y", "B", "naive", error="boom").to_json()
    assert failed["status"] == "error" and failed["met"] is None
    text = report.table([data, failed])
    assert "1.50x" in text and "<= 1.5x" in text and "y: boom" in text
    md = report.markdown_table([data])
    assert md.startswith("| figure |") and "| x | 30.0 ms | 20.0 ms | 1.50x |" in md


def test_a_ratio_target_with_a_ceiling_needs_both():
    both = Target("ratio", 1.5, also_max=0.6)
    assert both.met(0.5, 0.4)
    assert not both.met(0.7, 0.6)  # within 1.5x, over the ceiling
    assert not both.met(0.5, 0.2)  # under the ceiling, over 1.5x
    fig = Figure("z", "Z", "s", "bare", value=0.5, baseline=0.4, target=both).to_json()
    assert fig["target"] == {"kind": "ratio", "limit": 1.5, "also_max": 0.6}
    assert "<= 1.5x, <= 0.6 s" in report.table([fig])


def test_a_few_milliseconds_in_seconds_keep_their_digits():
    fig = Figure("w", "W", "s", "bare", value=0.23, baseline=0.0038).to_json()
    assert "| w | 0.23 s | 0.0038 s |" in report.markdown_table([fig])
