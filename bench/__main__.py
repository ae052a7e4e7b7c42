"""`python -m bench [--quick] [--json PATH] [--only GROUP ...] [--markdown]`.

Each group of figures runs in its own Python process with its own temporary
directory (and so its own SOFTHSM2_CONF), so one group's libraries, threads
or failure cannot touch another's figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import machine, report
from bench.config import REPO

GROUPS = {
    "startup": "bench.figures.startup",
    "screens": "bench.figures.screens",
    "signing": "bench.figures.signing",
    "scan": "bench.figures.scan",
    "flow": "bench.figures.flow",
    "remote": "bench.figures.remote",
}
RESULTS = REPO / "bench" / "results"
SCHEMA = 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="eonay's benchmarks: each figure beside a baseline measured in the same run.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="few repetitions and short windows (for CI)"
    )
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the JSON here")
    parser.add_argument(
        "--only", metavar="GROUP", nargs="+", choices=sorted(GROUPS), help="run only these groups"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the table as Markdown (for docs)"
    )
    return parser.parse_args(argv)


def run_group(name: str, quick: bool, workdir: Path) -> list[dict[str, object]]:
    """Run one group in a child process; on failure, every figure of it carries the error."""
    out = workdir / f"{name}.json"
    cmd = [sys.executable, "-m", "bench._group", name, str(workdir / name), str(out)]
    if quick:
        cmd.append("--quick")
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    took = time.perf_counter() - started
    if proc.returncode == 0 and out.exists():
        figures: list[dict[str, object]] = json.loads(out.read_text())
        for f in figures:
            f.setdefault("details", {})
            f["group_seconds"] = round(took, 2)
        return figures
    message = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    module = importlib.import_module(GROUPS[name])
    return [
        {
            "id": fid,
            "status": "error",
            "error": message,
            "value": None,
            "baseline": None,
            "ratio": None,
            "log": proc.stderr[-4000:],
        }
        for fid in module.IDS
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    groups = args.only or list(GROUPS)
    started_at = datetime.now(UTC).astimezone()
    t0 = time.perf_counter()
    figures: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="eonay-bench-") as tmp:
        for name in groups:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            figures += run_group(name, args.quick, Path(tmp))
    document: dict[str, object] = {
        "schema": SCHEMA,
        "mode": "quick" if args.quick else "full",
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - t0, 1),
        "machine": machine.describe(),
        "figures": figures,
    }
    default = RESULTS / ("quick.json" if args.quick else "latest.json")
    report.write_json(default, document)
    if args.json:
        report.write_json(args.json, document)
    table = report.markdown_table if args.markdown else report.table
    print(table(figures))
    print(f"\nwrote {default}" + (f" and {args.json}" if args.json else ""), file=sys.stderr)
    failed = [f["id"] for f in figures if f.get("status") != "ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
