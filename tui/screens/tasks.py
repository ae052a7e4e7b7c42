"""A screen's blocking calls (card, portal) in thread workers, each with its own typed handlers.

`run_task(call, done, ...)` runs `call` in a thread and gives what it returns
to `done` on the UI thread; mypy checks that `done` takes what `call` returns.
The handlers belong to that one run (its `Worker`), not to a name, so a run
cancelled by a newer one of the same name, or by the screen, never reaches
them. A person's error (an `EonayError`) goes to the run's `failed` handler;
anything else, or a person's error the run has no handler for, is a bug: the
run's `crashed` handler undoes the screen's busy state and the app shows its
error screen. That split is made here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, Protocol, TypeVar, cast

from textual.widget import Widget
from textual.worker import Worker, WorkerState, active_worker

from tui.core.errors import EonayError

T = TypeVar("T")

_OVER = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


class ReportsBugs(Protocol):
    """The app: a bug in a task is shown on its error screen, and the app keeps running."""

    def report_unexpected(self, error: BaseException, where: str = "") -> None: ...


@dataclass(frozen=True, slots=True)
class _Handlers(Generic[T]):
    done: Callable[[T], None]
    failed: Callable[[EonayError], None] | None
    crashed: Callable[[], None] | None


def _let_go(call: Callable[[], T]) -> T:
    """Run `call` in a worker thread; afterwards the thread forgets the worker.

    Textual marks the pool thread with the worker it runs (a context variable
    of that thread), which would keep the worker, its screen and its result (a
    signature, a portal session) alive until the thread runs something else:
    in kiosk mode, the next person's turn.
    """
    try:
        return call()
    finally:
        active_worker.set(None)  # type: ignore[arg-type]


class TaskRunner:
    """Mixin for a screen: run a blocking call in a thread, its outcome back on the UI thread."""

    _task_handlers: dict[Worker[Any], _Handlers[Any]] | None = None

    def run_task(
        self,
        call: Callable[[], T],
        done: Callable[[T], None],
        *,
        name: str,
        failed: Callable[[EonayError], None] | None = None,
        crashed: Callable[[], None] | None = None,
    ) -> Worker[T]:
        """Run `call` in a thread; `done` gets its result, `failed` a person's error.

        A newer run of the same `name` cancels this one: its handlers are dropped
        unused. `crashed` is for undoing busy state when the call hit a bug.
        """
        assert isinstance(self, Widget), "a TaskRunner is a screen"
        worker: Worker[T] = self.run_worker(
            partial(_let_go, call),
            name=name,
            group=name,
            thread=True,
            exclusive=True,  # cancels the runs of this name still going
            exit_on_error=False,
        )
        if self._task_handlers is None:
            self._task_handlers = {}
        self._forget_cancelled(self._task_handlers)
        self._task_handlers[worker] = _Handlers(done, failed, crashed)
        return worker

    @staticmethod
    def _forget_cancelled(handlers: dict[Worker[Any], _Handlers[Any]]) -> None:
        """Drop the handlers of cancelled runs: they never get an outcome.

        A run cancelled before its task started never even says it ended.
        """
        for cancelled in [run for run in handlers if run.is_cancelled]:
            del handlers[cancelled]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The state this message is about, never `worker.state`: on a busy machine the
        # RUNNING message can be read after the worker ended, and would count it twice.
        if event.state not in _OVER or self._task_handlers is None:
            return
        worker = event.worker
        handlers = self._task_handlers.pop(worker, None)
        self._forget_cancelled(self._task_handlers)
        if handlers is None or worker.is_cancelled:
            return  # not a task of this screen's, or one a newer run (or the screen) cancelled
        if event.state is WorkerState.SUCCESS:
            handlers.done(worker.result)
        elif event.state is WorkerState.ERROR and worker.error is not None:
            error = worker.error
            if isinstance(error, EonayError) and handlers.failed is not None:
                handlers.failed(error)
                return
            if handlers.crashed is not None:
                handlers.crashed()
            assert isinstance(self, Widget), "a TaskRunner is a screen"
            cast(ReportsBugs, self.app).report_unexpected(error, worker.name)
