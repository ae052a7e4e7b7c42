"""`eonay --plain` and `eonay demo --plain`: the services of the app, the flow as lines."""

from __future__ import annotations

import signal
import sys
from types import FrameType

from tui.core.services import ServiceFactories
from tui.core.settings import Settings
from tui.operations import Operations
from tui.plain.runner import run_flow
from tui.plain.steps import DemoHints
from tui.plain.terminal import LineTerminal


def run_plain(
    services: ServiceFactories,
    settings: Settings,
    *,
    demo: DemoHints | None = None,
    log_path: str | None = None,
) -> int:
    ops = Operations(services, settings)
    term = LineTerminal()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _end_by_signal)
    try:
        return run_flow(ops, term, settings, demo=demo, log_path=log_path)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        sys.stdout.flush()
        return 130


def _end_by_signal(sig: int, _frame: FrameType | None) -> None:
    """SIGTERM, SIGHUP: end through every `finally`, so the PIN is wiped and echo is back on."""
    raise SystemExit(128 + sig)
