"""EONAY_BENCH_LOOP_LAG: the app's 1 ms lateness timer is there for the benchmark only."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

APP = textwrap.dedent(
    """
    import asyncio, sys
    from tui.app import EonayApp
    from tui.commands.app import build_services
    from tui.core.settings import Settings

    settings = Settings(portal_url="http://127.0.0.1:9/", modules=("/nonexistent.so",))
    app = EonayApp(build_services(settings), settings)

    async def main():
        async with app.run_test() as pilot:
            await pilot.pause(0.5)

    asyncio.run(main())
    print("tui.loop_lag" in sys.modules)
    """
)


def _run_app(env_extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "EONAY_BENCH_LOOP_LAG"} | env_extra
    proc = subprocess.run(
        [sys.executable, "-c", APP], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_without_the_variable_the_timer_is_not_even_imported():
    assert _run_app({}) == "False"


def test_with_it_the_app_writes_each_tick_when_due_and_how_late_at_exit(tmp_path):
    path = tmp_path / "lag.txt"
    started = time.perf_counter()
    assert _run_app({"EONAY_BENCH_LOOP_LAG": str(path)}) == "True"
    ended = time.perf_counter()
    ticks = [tuple(map(float, line.split())) for line in path.read_text().splitlines()]
    assert len(ticks) > 50  # half a second of a 1 ms timer, even on a loaded machine
    due = [at for at, _late in ticks]
    assert due == sorted(due)
    # on the benchmark's clock (perf_counter and the loop's monotonic are one clock)
    assert started < due[0] and due[-1] < ended
    assert all(late >= 0 for _at, late in ticks)
