"""What every screen of the flow shares: title, demo banner, key bar, thread tasks.

A step's blocking work (card, portal) runs through `run_task` (`tui.screens.tasks`),
each call with its own handlers. Dialogs run no tasks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen, Screen

from tui.i18n import N_, _
from tui.screens.tasks import TaskRunner
from tui.steps import Step
from tui.widgets.banner import DemoBanner, TitleBar
from tui.widgets.countdown import Countdown, hurry_text
from tui.widgets.key_bar import KeyBar
from tui.widgets.size_notice import SizeNotice

if TYPE_CHECKING:  # the flow's types are imported after the first screen is drawn
    from tui.flow import Outcome

R = TypeVar("R")


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

    def on_countdown_hurry(self, event: Countdown.Hurry) -> None:
        """A step with a countdown: a warning before the time is over (at 60 s and 10 s)."""
        event.stop()
        self.notify(hurry_text(event.seconds), severity="warning", timeout=5, markup=False)


class Dialog(ModalScreen[R], Generic[R]):
    """A modal over a step (help, error, final-try confirmation), with its own key bar."""

    def compose(self) -> ComposeResult:
        yield from self.compose_dialog()
        yield KeyBar()
        yield SizeNotice()

    def compose_dialog(self) -> ComposeResult:
        yield from ()


BACK = Binding("escape", "back", N_("Back"), key_display="Esc")
