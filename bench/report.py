"""The table on the terminal and in the docs, from the figures' JSON form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Fig = dict[str, Any]


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if 0 < abs(value) < 0.1:  # a bare call over a 0 ms link: a few ms in seconds
        text = f"{value:.2g}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def _target(f: Fig) -> str:
    t = f.get("target")
    if not t:
        return "-"
    if t["kind"] == "ratio":
        also = t.get("also_max")
        return f"<= {t['limit']:g}x" + (f", <= {also:g} {f['unit']}" if also is not None else "")
    if t["kind"] == "max":
        return f"<= {t['limit']:g} {f['unit']}"
    return f"<= +{t['limit']:g} {f['unit']}"


def rows(figures: list[Fig]) -> list[list[str]]:
    out = [["figure", "eonay", "baseline", "ratio", "target", "met"]]
    for f in figures:
        if f.get("status") != "ok":
            out.append([f["id"], "error", "-", "-", "-", "-"])
            continue
        unit = f["unit"]
        ratio = f"{f['ratio']:.2f}x" if f.get("ratio") is not None else "-"
        target = f.get("target")
        if target and target["kind"] == "overhead" and f.get("overhead") is not None:
            ratio += f" (+{f['overhead']:.2f} {unit})"
        met = {True: "yes", False: "NO", None: "-"}[f.get("met")]
        out.append(
            [f["id"], _num(f["value"], unit), _num(f["baseline"], unit), ratio, _target(f), met]
        )
    return out


def table(figures: list[Fig]) -> str:
    body = rows(figures)
    widths = [max(len(r[i]) for r in body) for i in range(len(body[0]))]
    lines = []
    for n, r in enumerate(body):
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=False))
        ]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    errors = [f"{f['id']}: {f.get('error')}" for f in figures if f.get("status") != "ok"]
    return "\n".join(lines + (["", *errors] if errors else []))


def markdown_table(figures: list[Fig]) -> str:
    body = rows(figures)
    head, rest = body[0], body[1:]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rest]
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
