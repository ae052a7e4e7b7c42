"""F1: what this step is, and its keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Static

from tui.i18n import N_, _
from tui.resources import stylesheets
from tui.screens.base import Dialog
from tui.steps import Step
from tui.widgets.action_button import ActionButton

TOPICS: dict[Step, str] = {
    Step.CODE_ENTRY: N_(
        "Open the portal's E-imzalı Giriş page: it shows a 14-digit verification code "
        "(Doğrulama Kodu) and the time left. Type or paste the code here and press Enter. "
        "Spaces and dashes are ignored."
    ),
    Step.CERTIFICATE_SELECT: N_(
        "Every certificate on the cards in your readers is listed. Choose your qualified "
        "certificate (marked Qualified) with the arrow keys and press Enter. Certificates "
        "that cannot sign are shown with the reason (Enter on one says why). The list follows "
        "the card: insert or remove it and the list changes. The code's time left runs from "
        "this step on."
    ),
    Step.LOGIN_PIN: N_(
        "Read the text to sign: it is exactly what will be signed. Type your PIN with the "
        "keyboard or the keypad and press Enter (or İMZALA). The code must be used before "
        "the time runs out. A wrong PIN uses up one of the card's tries."
    ),
    Step.E_ONAY_CONFIRM: N_(
        "You are logged in. Press Enter on E-ONAY Operations, then on Continue; the portal "
        "then sends the E-Onay text, which you sign with the same card."
    ),
    Step.E_ONAY_PIN: N_(
        "Sign the E-Onay text with the same certificate. Your PIN is asked again: it is "
        "never kept after a signature."
    ),
    Step.DONE: N_(
        "Your E-Onay is on file. Keep the reference. Finish leaves the app; Start again "
        "begins a new login."
    ),
}

# In kiosk mode nothing leaves the app: the done screen's buttons both start over.
KIOSK_DONE = N_(
    "Your E-Onay is on file. Keep the reference. Finish or Start again clears everything "
    "for the next person."
)

KEYS = N_(
    "Keys: Enter continues · Esc goes back where that is safe · Tab moves between buttons "
    "· F1 shows this help · Ctrl+Q quits."
)


class HelpDialog(Dialog[None]):
    CSS_PATH: ClassVar = stylesheets("dialog.tcss", "buttons.tcss", "help.tcss")
    AUTO_FOCUS = "#close"
    BINDINGS = [  # noqa: RUF012
        Binding("escape,f1", "close", N_("Close"), key_display="Esc"),
    ]

    def __init__(self, step: Step, *, quit_key: bool = True) -> None:
        super().__init__()
        self.step = step
        self.quit_key = quit_key

    def compose_dialog(self) -> ComposeResult:
        with Vertical(id="help", classes="dialog"):
            yield Static(_("Help"), classes="dialog-title", markup=False)
            with VerticalScroll(id="help-text"):
                kiosk_done = self.step is Step.DONE and not self.quit_key
                yield Static(_(KIOSK_DONE if kiosk_done else TOPICS[self.step]), markup=False)
                keys = _(KEYS)
                if not self.quit_key:
                    keys = keys.rsplit(" · ", 1)[0] + "."
                yield Static(keys, id="help-keys", markup=False)
            yield ActionButton(_("Close"), id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
