"""Step 1: the 14-digit Doğrulama Kodu from the portal's E-imzalı Giriş page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from tui.core.clock import Clock, Deadline
from tui.core.errors import EonayError, RateLimitedError
from tui.i18n import N_, _
from tui.resources import stylesheet
from tui.screens.base import FlowScreen
from tui.steps import Step
from tui.widgets.code_field import CODE_LENGTH, CodeField

if TYPE_CHECKING:
    from textual.worker import Worker

    from tui.core.challenge import Challenge
    from tui.core.setup.settings_check import SettingProblem

FETCH = "fetch"


class CodeIntro(Widget):
    """What to type, where the portal shows it, and the field's name: one widget, three styles.

    One widget instead of three: each widget costs the first screen about a millisecond.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"code-intro--where", "code-intro--label"}

    def render(self) -> Content:
        where = self.get_visual_style("code-intro--where", partial=True)
        label = self.get_visual_style("code-intro--label", partial=True)
        return Content.assemble(
            _(
                "Enter the 14-digit verification code (Doğrulama Kodu) shown on the "
                "portal's E-imzalı Giriş page."
            ),
            "\n",
            (
                _(
                    "kamusm.gov.tr → Online İşlemler → Nitelikli Elektronik Sertifika "
                    "İşlemleri → E-imzalı Giriş"
                ),
                where,
            ),
            "\n\n",
            (_("Verification code"), label),
        )


class CodeEntryScreen(FlowScreen):
    """Type the code, Enter: the challenge is fetched in a worker, errors stay here.

    In the app it is home: shown first, left in place under the later steps,
    and cleared with `start_over` when the flow comes back to it.
    """

    CSS_PATH: ClassVar = [stylesheet("code_entry.tcss")]  # loaded when first shown

    TITLE_TEXT = N_("Verification code")
    STEP = Step.CODE_ENTRY
    AUTO_FOCUS = "#code"
    # Only while the code is being looked up (see check_action).
    BINDINGS: ClassVar = [Binding("escape", "cancel_lookup", N_("Cancel"), key_display="Esc")]

    def __init__(
        self,
        fetch: Callable[[str], Challenge],
        clock: Clock,
        *,
        message: str | None = None,
        banner: str | None = None,
        home: bool = False,
    ) -> None:
        super().__init__(banner=banner, home=home)
        self._fetch = fetch
        self._clock = clock
        self._message = message
        self._wait: Deadline | None = None
        self._wait_timer: Timer | None = None
        self._lookup: Worker[Challenge] | None = None
        # The field's value when the status line spoke about it (a length or a portal's
        # refusal of that code): once the value changes, that message is no longer true.
        self._said_for: str | None = None

    def compose_body(self) -> ComposeResult:
        yield CodeIntro()
        yield CodeField(id="code")
        yield Static("", id="status", markup=False)

    def on_mount(self) -> None:
        self._update_count("")
        if self._message:
            self._say(self._message, "error")
            self._said_for = ""

    def show_setting_problems(self, problems: Sequence[SettingProblem]) -> None:
        """Settings that cannot work (found after the first paint): said above the field."""
        from tui.widgets.settings_notice import SettingsNotice

        self.query("#settings-notice").remove()
        self.mount(SettingsNotice(problems), before=self.query_one(CodeIntro))

    def start_over(self, *, message: str | None = None, banner: str | None = None) -> None:
        """Ready for a new code: nothing typed, the step not left, and why (if anyone said)."""
        self.left = None
        if self._lookup is not None and not self._lookup.is_finished:
            self._lookup.cancel()  # a lookup for the person before never arrives here
        if banner is not None:
            self.set_banner(banner)
        self.query_one(CodeField).clear()
        self._update_count("")
        if message:
            self._say(message, "error")
            self._said_for = ""  # why the last code ended: old news once a new one is typed
        else:
            self._say("", "")
        self._ready()

    # --- typing -------------------------------------------------------------

    def on_code_field_changed(self, event: CodeField.Changed) -> None:
        self._update_count(event.value)
        if self._said_for is not None and event.value != self._said_for:
            self._say("", "")  # said of a code that is no longer the one in the field

    def _update_count(self, value: str) -> None:
        """The count of digits, in the field's lower border."""
        for field in self.query(CodeField):  # none while the screen is being removed
            field.border_subtitle = _("{n}/{total} digits").format(n=len(value), total=CODE_LENGTH)

    def on_code_field_submitted(self, event: CodeField.Submitted) -> None:
        event.stop()
        self.submit()

    def submit(self) -> None:
        field = self.query_one(CodeField)
        if field.disabled:
            return
        code = field.value
        if self._wait is not None and not self._wait.expired():
            self._show_wait()
            return
        if len(code) != CODE_LENGTH:
            self._say(_("The code has 14 digits; you typed {n}.").format(n=len(code)), "error")
            self._said_for = code
            return
        field.disabled = True
        self._say(_("Looking up the code at the portal…"), "busy")
        self._lookup = self.run_task(
            lambda: self._fetch(code),
            self._found,
            name=FETCH,
            failed=self._lookup_failed,
            crashed=self._ready,
        )
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_lookup":
            return self._lookup is not None and not self._lookup.is_finished
        return True

    def action_cancel_lookup(self) -> None:
        """Esc while the portal is asked: stop waiting, keep the code, let it be edited.

        The request itself may still finish in its thread; its worker is cancelled,
        so a late answer (or error) never reaches this screen.
        """
        lookup = self._lookup
        if lookup is None or lookup.is_finished:
            return  # the answer is already here: it wins
        lookup.cancel()
        self._ready()
        self._say(
            _("The lookup was cancelled. The code is kept: press Enter to try again."), "info"
        )
        self._said_for = self.query_one(CodeField).value

    # --- results ------------------------------------------------------------

    def _found(self, challenge: Challenge) -> None:
        self._lookup = None
        self.leave(challenge)

    def _lookup_failed(self, error: EonayError) -> None:
        self._ready()
        if isinstance(error, RateLimitedError):
            self._wait = Deadline.in_seconds(error.retry_after, self._clock)
            self._show_wait()
            if self._wait_timer is None:
                self._wait_timer = self.set_interval(1.0, self._show_wait)
        else:
            self._say(error.user_message(), "error")
            self._said_for = self.query_one(CodeField).value

    def _show_wait(self) -> None:
        if self._wait is None:
            return
        left = int(-(-self._wait.remaining() // 1))
        if left <= 0:
            self._say(_("You can try again now."), "info")
            self._wait = None
            return
        self._say(RateLimitedError(retry_after=left).user_message(), "error")

    def _say(self, text: str, kind: str) -> None:
        """Say `text` on the status line; a message about the field's value sets `_said_for`
        after this (any other message stays until something else is said)."""
        self._said_for = None
        status = self.query_one("#status", Static)
        status.update(Content(text))
        status.set_classes(f"-{kind}" if kind else "")

    def _ready(self) -> None:
        self._lookup = None
        field = self.query_one(CodeField)
        field.disabled = False
        field.focus()
        self.refresh_bindings()
