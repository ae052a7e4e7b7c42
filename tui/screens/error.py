"""An unexpected error: a short reference to quote, and the app goes on."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static

from tui.i18n import N_, _
from tui.resources import stylesheets
from tui.screens.base import Dialog
from tui.widgets.action_button import ActionButton


class ErrorDialog(Dialog[bool]):
    """Dismissed with True when the person chooses to start again."""

    CSS_PATH: ClassVar = stylesheets("dialog.tcss", "buttons.tcss", "error.tcss")

    AUTO_FOCUS = "#continue"
    BINDINGS = [Binding("escape", "close", N_("Close"), key_display="Esc")]  # noqa: RUF012

    def __init__(self, reference: str, log_path: str | None = None) -> None:
        super().__init__()
        self.reference = reference
        self.log_path = log_path

    def compose_dialog(self) -> ComposeResult:
        with Vertical(id="error", classes="dialog"):
            yield Static(_("Something unexpected happened"), classes="dialog-title", markup=False)
            yield Static(
                Content.assemble((_("Reference:") + " ", "bold"), (self.reference, "bold")),
                id="reference",
            )
            lines = [_("The app keeps running: continue, or start again.")]
            if self.log_path:
                lines.append(_("Details are in the log: {path}").format(path=self.log_path))
            lines.append(_("Quote the reference when you ask for help."))
            yield Static(Content("\n".join(lines)), id="error-detail")
            with Horizontal(classes="dialog-buttons"):
                yield ActionButton(_("Continue"), id="continue", variant="primary")
                yield ActionButton(_("Start again"), id="restart")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "restart")

    def action_close(self) -> None:
        self.dismiss(False)
