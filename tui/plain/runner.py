"""The flow in plain mode: one step after another, `tui.flow.advance` choosing the next.

A bug (anything but a person's error) is logged with a reference, as the app
does, said in one line, and the flow starts again at code entry.
"""

from __future__ import annotations

from tui.core.settings import Settings
from tui.errorlog import log_unexpected
from tui.flow import START, Outcome, Restart, advance
from tui.i18n import _
from tui.operations import Operations
from tui.plain.steps import DemoHints, PlainSteps
from tui.plain.terminal import Closed, LineTerminal
from tui.steps import Step


def run_flow(
    ops: Operations,
    term: LineTerminal,
    settings: Settings,
    *,
    demo: DemoHints | None = None,
    log_path: str | None = None,
    poll_interval: float = 1.0,
) -> int:
    """Until the receipt (exit 0), or until the input ends (Ctrl+D: exit 1)."""
    steps = PlainSteps(ops, term, demo=demo, poll_interval=poll_interval)
    step, state = Step.CODE_ENTRY, START
    try:
        while True:
            outcome: Outcome
            try:
                outcome = steps.show(step, state)
            except Closed:
                raise
            except Exception as error:
                reference = log_unexpected(error, f"plain-{step.value}")
                term.say(
                    _("Something unexpected happened"),
                    _("Reference:") + " " + reference,
                )
                if log_path:
                    term.say(_("Details are in the log: {path}").format(path=log_path))
                term.say(_("Quote the reference when you ask for help."))
                outcome = Restart()
            move = advance(step, state, outcome)
            if move.step is None:
                if not settings.kiosk:
                    return 0
                ops.reset()  # kiosk: no session or login outlives the person
                step, state = Step.CODE_ENTRY, START
                continue
            step, state = move.step, move.state
    except Closed:
        term.say("")
        return 1
    finally:
        ops.close()
