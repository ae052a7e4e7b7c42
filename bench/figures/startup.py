"""Figure 1: exec until the code-entry screen's text is visible in an 80x24 pty.

The baseline is a bare Textual app with one Static, started the same way
(`python -m ...` in the same pseudo-terminal). Runs alternate between the two
so drift on a noisy machine hits both; medians are reported. The bytes of each
first paint come from the same runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bench.config import Config
from bench.environment import CODE_ENTRY_TEXT, app_env
from bench.model import Figure, Target, median
from bench.pty_term import PtyRun, terminal_env

GROUP = "startup"
IDS = ("startup", "first_paint_code_entry")

BARE = "bench.baselines.bare_static"
REPLICA = "bench.baselines.code_entry_replica"
IMPORT_THEN_BARE = (
    "import sys, tui.app, tui.__main__\n"
    "from bench.baselines.bare_static import BareApp\n"
    "BareApp(sys.argv[1]).run()\n"
)
# Imported before the first screen, these would cost the start-up (issue 4).
HEAVY = ("PyKCS11", "cryptography", "asn1crypto", "httpx", "starlette", "uvicorn", "anyio")


def time_to_text(
    argv: Sequence[str], env: dict[str, str], text: str, cwd: str
) -> tuple[float, int]:
    """(ms from exec until `text` is visible, bytes of that whole first paint)."""
    with PtyRun(argv, env, cwd=cwd) as run:
        seen = run.wait_for(text, timeout=30)
        run.wait_quiet(0.25, timeout=10)  # let the rest of the paint arrive
        end = run.burst_end(seen, 0.25)  # a paint ends at the first 0.25 s pause
        return (seen - run.started_at) * 1000, run.bytes_between(0, end + 1e-9)


def imports_before_first_screen(
    argv: Sequence[str], env: dict[str, str], text: str, cwd: str
) -> dict[str, tuple[int, int, int]]:
    """Run once with `-X importtime` and return what was imported before `text` showed.

    `-X importtime` writes with C-level stderr, so the lines reach the pty even
    while Textual captures sys.stderr. name -> (self us, cumulative us, depth).
    """
    argv = [argv[0], "-X", "importtime", *argv[1:]]
    with PtyRun(argv, env, cwd=cwd) as run:
        seen = run.wait_for(text, timeout=60)
        before = b"".join(c.data for c in run.chunks if c.at <= seen).decode("utf-8", "replace")
    rows = re.findall(r"import time:\s+(\d+) \|\s+(\d+) \|( *)([\w.]+)", before)
    return {name: (int(own), int(cum), len(indent)) for own, cum, indent, name in rows}


def import_report(
    app: dict[str, tuple[int, int, int]], bare: dict[str, tuple[int, int, int]]
) -> dict[str, object]:
    """What the app imports before its first screen that the bare app does not."""
    extra = {name: v for name, v in app.items() if name not in bare}
    by_package: dict[str, int] = {}
    for name, (own, _, _) in extra.items():
        top = name.split(".")[0] if not name.startswith("tui.") else ".".join(name.split(".")[:2])
        by_package[top] = by_package.get(top, 0) + own
    heavy = sorted({n.split(".")[0] for n in app if n.split(".")[0] in HEAVY})
    return {
        "heavy_imported_before_first_screen": heavy,
        "modules_app": len(app),
        "modules_bare": len(bare),
        "extra_modules": len(extra),
        "extra_import_self_ms_total": round(sum(v[0] for v in extra.values()) / 1000, 1),
        "extra_import_self_ms_by_package": {
            k: round(v / 1000, 1) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])[:15]
        },
        "note": "-X importtime inflates every import; compare the two columns, not absolutes",
    }


def run(cfg: Config) -> list[Figure]:
    cwd = str(cfg.repo)
    bare_argv = [cfg.python, "-m", BARE, CODE_ENTRY_TEXT]
    with app_env(cfg, "startup") as app:
        app_argv = app.argv()
        env = app.env
        # Warm-up: compiled bytecode and the page cache, for both.
        time_to_text(app_argv, env, CODE_ENTRY_TEXT, cwd)
        time_to_text(bare_argv, terminal_env(), CODE_ENTRY_TEXT, cwd)
        app_ms: list[float] = []
        bare_ms: list[float] = []
        app_bytes: list[float] = []
        bare_bytes: list[float] = []
        for _ in range(cfg.startup_runs):
            ms, nbytes = time_to_text(app_argv, env, CODE_ENTRY_TEXT, cwd)
            app_ms.append(ms)
            app_bytes.append(float(nbytes))
            ms, nbytes = time_to_text(bare_argv, terminal_env(), CODE_ENTRY_TEXT, cwd)
            bare_ms.append(ms)
            bare_bytes.append(float(nbytes))
        details: dict[str, object] = {"runs": cfg.startup_runs}
        if not cfg.quick:
            # Where the difference goes: the bare app after importing the app's
            # modules (without using them), same pty, same runs.
            imported = [cfg.python, "-c", IMPORT_THEN_BARE, CODE_ENTRY_TEXT]
            time_to_text(imported, env, CODE_ENTRY_TEXT, cwd)
            details["bare_after_import_tui_app_ms"] = median(
                [time_to_text(imported, env, CODE_ENTRY_TEXT, cwd)[0] for _ in range(5)]
            )
            # What the first screen itself costs in Textual: its layout rebuilt
            # from stock widgets, pushed as a screen, none of the app's modules.
            replica = [cfg.python, "-m", REPLICA, CODE_ENTRY_TEXT]
            time_to_text(replica, terminal_env(), CODE_ENTRY_TEXT, cwd)
            replica_ms: list[float] = []
            replica_bare_ms: list[float] = []
            for _ in range(5):
                replica_ms.append(time_to_text(replica, terminal_env(), CODE_ENTRY_TEXT, cwd)[0])
                replica_bare_ms.append(
                    time_to_text(bare_argv, terminal_env(), CODE_ENTRY_TEXT, cwd)[0]
                )
            details["code_entry_replica_ms"] = median(replica_ms)
            details["code_entry_replica_bare_ms"] = median(replica_bare_ms)
            details["imports"] = import_report(
                imports_before_first_screen(app_argv, env, CODE_ENTRY_TEXT, cwd),
                imports_before_first_screen(bare_argv, terminal_env(), CODE_ENTRY_TEXT, cwd),
            )
    startup = Figure(
        id="startup",
        title="Start-up: exec to the code-entry screen visible (80x24 pty), median",
        unit="ms",
        baseline_name="bare Textual app with one Static",
        value=median(app_ms),
        baseline=median(bare_ms),
        target=Target("ratio", 1.2),
        samples={"app": app_ms, "baseline": bare_ms},
        details=details,
    )
    paint = Figure(
        id="first_paint_code_entry",
        title="First full paint of the code-entry screen (bytes from exec)",
        unit="B",
        baseline_name="first paint of the bare Textual app with one Static",
        value=median(app_bytes),
        baseline=median(bare_bytes),
        samples={"app": app_bytes, "baseline": bare_bytes},
    )
    return [startup, paint]
