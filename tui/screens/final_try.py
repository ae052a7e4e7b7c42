"""The extra, explicit confirmation before the PIN's final try."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from tui.i18n import N_, _
from tui.resources import stylesheets
from tui.screens.base import Dialog
from tui.widgets.action_button import ActionButton


class FinalTryDialog(Dialog[bool]):
    """Dismissed with True only when "Sign anyway" is chosen; Cancel has the focus."""

    CSS_PATH: ClassVar = stylesheets("dialog.tcss", "buttons.tcss", "final_try.tcss")

    AUTO_FOCUS = "#cancel"
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), key_display="Esc")]  # noqa: RUF012

    def __init__(self, *, pin_pad: bool = False) -> None:
        super().__init__()
        self._pin_pad = pin_pad  # the PIN is typed on the reader, after this question

    def compose_dialog(self) -> ComposeResult:
        with Vertical(id="final-try", classes="dialog"):
            yield Static(_("Last PIN try"), classes="dialog-title", markup=False)
            yield Static(
                _(
                    "The card allows one more PIN try. If this PIN is wrong, the card "
                    'locks and must be unlocked through the portal\'s "Kilit Çözme" page.'
                ),
                markup=False,
            )
            question = (
                _("Sign, typing the PIN on the card reader's keypad?")
                if self._pin_pad
                else _("Sign with the PIN you typed?")
            )
            yield Static(question, markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield ActionButton(_("Cancel"), id="cancel")
                yield ActionButton(_("Yes, sign"), id="confirm", variant="warning")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)
