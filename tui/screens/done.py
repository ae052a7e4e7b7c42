"""Step 6 (the guide's step 8, its confirmation): the receipt, and what happens next."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from tui.display import date_time, shown
from tui.flow import Finish, Receipt, Restart
from tui.i18n import N_, _
from tui.resources import stylesheets
from tui.screens.base import FlowScreen
from tui.steps import Step
from tui.widgets.action_button import ActionButton


class DoneScreen(FlowScreen):
    """Shows the receipt; "Finish" leaves (the kiosk's app goes back to the start)."""

    CSS_PATH: ClassVar = stylesheets("buttons.tcss", "done.tcss")

    TITLE_TEXT = N_("Done")
    STEP = Step.DONE
    AUTO_FOCUS = "#finish"

    def __init__(self, receipt: Receipt, *, banner: str | None = None) -> None:
        super().__init__(banner=banner)
        self.receipt = receipt

    def compose_body(self) -> ComposeResult:
        receipt = self.receipt
        headline = (
            _("E-Onay was already active for you.")
            if receipt.already_active
            else _("Your E-Onay is now active.")
        )
        rows = [
            (_("Holder"), shown(receipt.holder, 60)),
            (_("Reference"), shown(receipt.reference, 60) if receipt.reference else "—"),
            (_("Activated"), date_time(receipt.activated_at)),
        ]
        if receipt.signed_at is not None:
            rows.append((_("Signed"), date_time(receipt.signed_at)))
        width = max(len(label) for label, _value in rows) + 2
        with VerticalScroll(id="done-body", can_focus=False):
            yield Static(Content(headline), id="headline")
            with Vertical(id="receipt") as box:
                box.border_title = _("Receipt")
                for label, value in rows:
                    yield Static(
                        Content.assemble(((label + ":").ljust(width), "bold"), value),
                        classes="receipt-row",
                    )
            yield Static(
                _(
                    "What happens next: your later NES applications and renewals "
                    "(e-imza uzatma) need no signed paper form, even after your "
                    "certificate has expired. Keep the reference for your records."
                ),
                id="next",
                markup=False,
            )
            with Horizontal(id="done-buttons"):
                yield ActionButton(_("Finish"), id="finish", variant="primary")
                yield ActionButton(_("Start again"), id="restart")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.leave(Finish() if event.button.id == "finish" else Restart())
