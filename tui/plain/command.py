"""`eonay --plain` and `eonay demo --plain`: the services of the app, the flow as lines."""

from __future__ import annotations

import sys

from tui.core.services import ServiceFactories
from tui.core.settings import Settings
from tui.core.text import allow_scripts
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
    allow_scripts(settings.text_scripts)  # the same text rule as the app
    ops = Operations(services, settings)
    term = LineTerminal()
    try:
        return run_flow(ops, term, settings, demo=demo, log_path=log_path)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        sys.stdout.flush()
        return 130
