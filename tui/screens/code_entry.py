"""Step 1: the 14-digit Doğrulama Kodu from the portal's E-imzalı Giriş page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Input, Static

from tui.core.challenge import Challenge
from tui.core.clock import Clock, Deadline
from tui.core.errors import EonayError, RateLimitedError
from tui.i18n import N_, _
from tui.resources import stylesheet
from tui.screens.base import FlowScreen
from tui.widgets.code_field import CODE_LENGTH, CodeField

FETCH = "fetch"


class CodeEntryScreen(FlowScreen):
    """Type the code, Enter: the challenge is fetched in a worker, errors stay here."""

    CSS_PATH: ClassVar = [stylesheet("code_entry.tcss")]  # loaded when first shown

    TITLE_TEXT = N_("Verification code")
    STEP = 1
    AUTO_FOCUS = "#code"

    def __init__(
        self,
        fetch: Callable[[str], Challenge],
        clock: Clock,
        *,
        message: str | None = None,
        banner: str | None = None,
    ) -> None:
        super().__init__(banner=banner)
        self._fetch = fetch
        self._clock = clock
        self._message = message
        self._wait: Deadline | None = None
        self._wait_timer: Timer | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="code-body"):
            yield Static(
                _(
                    "Enter the 14-digit verification code (Doğrulama Kodu) shown on the "
                    "portal's E-imzalı Giriş page."
                ),
                markup=False,
                classes="explain",
            )
            yield Static(
                _(
                    "kamusm.gov.tr → Online İşlemler → Nitelikli Elektronik Sertifika "
                    "İşlemleri → E-imzalı Giriş"
                ),
                markup=False,
                classes="where",
            )
            yield Static(_("Verification code"), markup=False, classes="field-label")
            with Horizontal(id="code-row"):
                yield CodeField(id="code")
                yield Static("", id="count", markup=False)
            yield Static("", id="status", markup=False)

    def on_mount(self) -> None:
        self._update_count("")
        if self._message:
            self._say(self._message, "error")

    # --- typing -------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        self._update_count(event.value)

    def _update_count(self, value: str) -> None:
        for count in self.query("#count").results(Static):  # gone while the screen is removed
            count.update(_("{n}/{total} digits").format(n=len(value), total=CODE_LENGTH))

    def on_input_submitted(self, event: Input.Submitted) -> None:
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
            return
        field.disabled = True
        self._say(_("Looking up the code at the portal…"), "busy")
        self.run_task(FETCH, lambda: self._fetch(code))

    # --- results ------------------------------------------------------------

    def task_done(self, name: str, result: Any) -> None:
        if name == FETCH:
            self.leave(result)

    def task_failed(self, name: str, error: EonayError) -> bool:
        self._ready()
        if isinstance(error, RateLimitedError):
            self._wait = Deadline.in_seconds(error.retry_after, self._clock)
            self._show_wait()
            if self._wait_timer is None:
                self._wait_timer = self.set_interval(1.0, self._show_wait)
        else:
            self._say(error.user_message(), "error")
        return True

    def task_crashed(self, name: str) -> None:
        self._ready()

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
        status = self.query_one("#status", Static)
        status.update(Content(text))
        status.set_classes(f"-{kind}")

    def _ready(self) -> None:
        field = self.query_one(CodeField)
        field.disabled = False
        field.focus()
