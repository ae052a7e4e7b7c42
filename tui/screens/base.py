"""What every screen of the flow shares: title, demo banner, key bar, thread tasks.

A screen's blocking work (card, portal) runs through `run_task` in a thread
worker. Its result comes back to `task_done`; a person's error (an
`EonayError`) to `task_failed`; anything else goes to the app's error screen,
and the app keeps running.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState, active_worker

from tui.core.errors import EonayError
from tui.i18n import N_, _
from tui.steps import Step
from tui.widgets.banner import DemoBanner, TitleBar
from tui.widgets.key_bar import KeyBar
from tui.widgets.size_notice import SizeNotice

if TYPE_CHECKING:  # the flow's types are imported after the first screen is drawn
    from tui.flow import Outcome

R = TypeVar("R")


def _let_go(call: Callable[[], Any]) -> Any:
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
    """Mixin: run a blocking call in a thread and get its outcome back on the UI thread."""

    def run_task(self, name: str, call: Callable[[], Any]) -> Worker[Any]:
        node: Any = self
        worker: Worker[Any] = node.run_worker(
            partial(_let_go, call),
            name=name,
            group=name,
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )
        return worker

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The state this message is about, never `worker.state`: on a busy machine the
        # RUNNING message can be read after the worker ended, and would count it twice.
        worker = event.worker
        if event.state is WorkerState.SUCCESS:
            self.task_done(worker.name, worker.result)
        elif event.state is WorkerState.ERROR and worker.error is not None:
            error = worker.error
            handled = isinstance(error, EonayError) and self.task_failed(worker.name, error)
            if not handled:
                self.task_crashed(worker.name)
                node: Any = self
                node.app.report_unexpected(error, worker.name)

    def task_done(self, name: str, result: Any) -> None:
        """A task finished; override to use its result."""

    def task_failed(self, name: str, error: EonayError) -> bool:
        """A task raised an error a person can meet; return True when shown."""
        return False

    def task_crashed(self, name: str) -> None:
        """A task raised something unexpected (the app shows its error screen); undo busy state."""


class FlowScreen(TaskRunner, Screen["Outcome"]):
    """A step of the guide; dismissed with what happened (see `tui.flow`).

    The home screen (code entry, the app's first) is never dismissed: it stays
    under the other steps and says what happened with a `Left` message.
    """

    TITLE_TEXT: ClassVar[str] = ""  # an msgid
    STEP: ClassVar[Step | None] = None

    class Left(Message):
        """The home screen's step is over; the app moves on."""

        def __init__(self, outcome: Outcome) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(
        self,
        *,
        banner: str | None = None,
        title: str | None = None,
        step: Step | None = None,
        home: bool = False,
    ) -> None:
        super().__init__()
        self.banner = banner
        self.title_text = title or self.TITLE_TEXT
        self.step = step or self.STEP
        self.is_home = home
        self.left: Outcome | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar(_(self.title_text), self.step.number if self.step else None)
        if self.banner is not None:
            yield DemoBanner(self.banner)
        yield from self.compose_body()
        yield KeyBar()
        yield SizeNotice()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def set_banner(self, text: str) -> None:
        for banner in self.query(DemoBanner):
            banner.show_text(text)

    def leave(self, outcome: Outcome) -> None:
        """Dismiss with `outcome`, first closing any dialog (help, confirmation) over this step.

        A worker can finish while F1's help is open; dismissing then must not pop the help.
        A step is left once: a worker that ends after that (a card poll that saw the
        card gone, say, after the PIN state read did) changes nothing.
        """
        if self.left is not None:
            return
        self.left = outcome
        if self.is_attached and self.app.screen is not self:
            self.pop_until_active()
        if self.is_home:
            self.post_message(self.Left(outcome))
        else:
            self.dismiss(outcome)

    def action_back(self) -> None:
        from tui.flow import Back

        self.leave(Back())


class Dialog(TaskRunner, ModalScreen[R], Generic[R]):
    """A modal over a step (help, error, final-try confirmation), with its own key bar."""

    def __init__(self) -> None:
        super().__init__()

    def compose(self) -> ComposeResult:
        yield from self.compose_dialog()
        yield KeyBar()
        yield SizeNotice()

    def compose_dialog(self) -> ComposeResult:
        yield from ()


BACK = Binding("escape", "back", N_("Back"), key_display="Esc")
