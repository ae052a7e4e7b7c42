"""Step 4 (the guide's steps 6 and 7): logged in; "E-ONAY İşlemleri", then "Devam Et"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from tui.core.errors import EonayError
from tui.core.results import Holder
from tui.display import date_time, shown
from tui.flow import AlreadyActive, EOnayStarted
from tui.i18n import N_, _
from tui.resources import stylesheets
from tui.screens.base import BACK, FlowScreen
from tui.steps import Step
from tui.widgets.action_button import ActionButton

START = "start-e-onay"


class EOnayConfirmScreen(FlowScreen):
    """Two presses, as on the portal; the second asks the portal for the E-Onay challenge."""

    CSS_PATH: ClassVar = stylesheets("buttons.tcss", "e_onay_confirm.tcss")

    TITLE_TEXT = N_("E-Onay")
    STEP = Step.E_ONAY_CONFIRM
    AUTO_FOCUS = "#operations"
    # Esc folds "Devam Et" away again (the guide's step 7 back to its step 6); before that
    # there is nothing to go back to: the login is signed (see `tui.flow`'s back-rule).
    BINDINGS: ClassVar = [BACK]

    def __init__(
        self,
        holder: Holder,
        *,
        start: Callable[[], EOnayStarted | AlreadyActive],
        signed_at: datetime | None = None,
        message: str | None = None,
        banner: str | None = None,
    ) -> None:
        super().__init__(banner=banner)
        self.holder = holder
        self._start = start
        self._signed_at = signed_at
        self._message = message

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="e-onay-body", can_focus=False):
            yield Static(
                Content.assemble(
                    (_("Logged in:") + " ", "bold"),
                    (shown(self.holder.name, 60), "bold"),
                    f"  (T.C. {shown(self.holder.serial, 20)})",
                ),
                id="holder",
            )
            if self._signed_at is not None:
                yield Static(
                    Content.assemble(
                        (_("Login signed:") + " ", "bold"), date_time(self._signed_at)
                    ),
                    id="login-signed",
                )
            yield Static(
                Content.assemble((_("E-Onay status:") + " ", "bold"), _("not active")),
                id="e-onay-status",
            )
            yield Static(
                _(
                    "With E-Onay on file, your later NES applications and renewals "
                    "(e-imza uzatma) need no signed paper form, even after your "
                    "certificate has expired."
                ),
                id="explain",
                markup=False,
            )
            yield ActionButton(_("E-ONAY Operations"), id="operations", variant="primary")
            with Vertical(id="continue-panel"):
                yield Static(
                    _(
                        "You give your E-Onay by signing once more with the same card. "
                        "The portal sends the text to sign next."
                    ),
                    markup=False,
                )
                yield ActionButton(_("Continue"), id="continue", variant="primary")
            yield Static("", id="status", markup=False)

    def on_mount(self) -> None:
        if self._message:  # back from step 5 (its time ran out): "Continue" asks for a new text
            self.query_one("#operations").display = False
            self.query_one("#continue", Button).focus()
            self._say(self._message, "error")
        else:
            self.query_one("#continue-panel").display = False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "operations":
            event.button.display = False
            self.query_one("#continue-panel").display = True
            self.query_one("#continue", Button).focus()
            self.refresh_bindings()
        elif event.button.id == "continue":
            event.button.disabled = True
            self.refresh_bindings()
            self._say(_("Asking the portal for the E-Onay text…"), "busy")
            self.run_task(
                self._start, self.leave, name=START, failed=self._not_started, crashed=self._ready
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":  # "Continue" is shown, and not busy asking the portal
            panel, button = self.query("#continue-panel"), self.query("#continue")
            return bool(panel and button) and panel.first().display and not button.first().disabled
        return True

    def action_back(self) -> None:
        if not self.check_action("back", ()):
            return
        self.query_one("#continue-panel").display = False
        operations = self.query_one("#operations", Button)
        operations.display = True
        operations.focus()
        self.refresh_bindings()

    def _not_started(self, error: EonayError) -> None:
        self._ready()
        self._say(error.user_message(), "error")

    def _ready(self) -> None:
        button = self.query_one("#continue", Button)
        button.disabled = False
        button.focus()
        self.refresh_bindings()

    def _say(self, text: str, kind: str) -> None:
        status = self.query_one("#status", Static)
        status.update(Content(text))
        status.set_classes(f"-{kind}")
