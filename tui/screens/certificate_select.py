"""Step 2: "Sertifika Seçiniz", the certificates of every token, following the card."""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static

from tui.card_hints import no_card_hints
from tui.core.errors import CardBusyError, EonayError
from tui.i18n import N_, _
from tui.operations import CardView
from tui.resources import stylesheet
from tui.screens.base import BACK, FlowScreen
from tui.steps import Step
from tui.widgets.certificate_list import CertificateList

READ = "read-card"
BUSY_RETRY = 2.0  # seconds between readings while another program holds the card


class CertificateSelectScreen(FlowScreen):
    """Lists certificates, re-reading the card about once a second; Enter chooses."""

    CSS_PATH: ClassVar = [stylesheet("certificate_select.tcss")]  # loaded when first shown

    TITLE_TEXT = N_("Choose a certificate")
    STEP = Step.CERTIFICATE_SELECT
    AUTO_FOCUS = "#certificates"
    BINDINGS = [BACK]  # noqa: RUF012

    def __init__(
        self,
        read_card: Callable[[], CardView],
        module_paths: Callable[[], list[str]],
        *,
        prefer: str | None = None,
        message: str | None = None,
        poll_interval: float = 1.0,
        banner: str | None = None,
    ) -> None:
        super().__init__(banner=banner)
        self._read_card = read_card
        self._module_paths = module_paths
        self._prefer = prefer
        self._message = message
        self._poll_interval = poll_interval
        self._reading = False
        self._busy_since: float | None = None  # the last reading found the card held
        self._last_read = float("-inf")
        self.view: CardView | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="select-body"):
            yield Static("", id="message", markup=False)
            yield Static(_("Reading the card…"), id="card-status", markup=False)
            listing = CertificateList(id="certificates")
            listing.border_title = _("Choose your certificate")
            yield listing
            with Vertical(id="no-card"):
                yield Static(_("No card found"), id="no-card-title", markup=False)
                yield Static("", id="no-card-detail", markup=False)

    def on_mount(self) -> None:
        message = self.query_one("#message", Static)
        if self._message:
            message.update(Content(self._message))
        else:
            message.display = False
        self.query_one("#no-card").display = False
        self.reread()
        self.set_interval(self._poll_interval, self.reread)

    # --- reading the card -----------------------------------------------------

    def reread(self) -> None:
        """Start one reading unless one is still running (a slow card must not pile up)."""
        if self._reading:
            return
        now = monotonic()
        if self._busy_since is not None and now - self._last_read < BUSY_RETRY:
            return  # held by another program: every BUSY_RETRY seconds is enough
        self._last_read = now
        self._reading = True
        self.run_task(
            self._read_card,
            self._card_read,
            name=READ,
            failed=self._card_unread,
            crashed=self._reading_over,
        )

    def _card_read(self, view: CardView) -> None:
        self._reading_over()
        self._busy_since = None
        self.show_view(view)

    def _card_unread(self, error: EonayError) -> None:
        self._reading_over()
        if isinstance(error, CardBusyError):
            # Another program holds the card: say so, and keep trying (see `reread`).
            if self._busy_since is None:
                self._busy_since = self._last_read
            self._show_no_card(error.user_message(), [], title=_("The card is in use"), hints=False)
            return
        self._busy_since = None
        self._show_no_card(error.user_message(), [])

    def _reading_over(self) -> None:
        self._reading = False

    def show_view(self, view: CardView) -> None:
        self.view = view
        certs = view.certificates
        if not certs:
            if view.tokens:
                self._show_no_card(_("The card holds no certificates."), view.module_paths)
            else:
                self._show_no_card(_("Insert your card into the reader."), view.module_paths)
            return
        self.query_one("#no-card").display = False
        listing = self.query_one(CertificateList)
        if not listing.display:
            listing.display = True
            listing.focus()
        listing.show(certs, self._prefer)
        usable = sum(1 for c in certs if c.usable)
        status = self.query_one("#card-status", Static)
        if usable == 0:
            status.update(_("None of these certificates can sign; the reasons are shown."))
        elif usable == 1:
            status.update(_("Press Enter to use the selected certificate."))
        else:
            status.update(_("Choose a certificate with ↑ ↓ and press Enter."))

    def _show_no_card(
        self,
        detail: str,
        module_paths: list[str],
        *,
        title: str | None = None,
        hints: bool = True,
    ) -> None:
        listing = self.query_one(CertificateList)
        listing.show([])
        listing.display = False
        self.query_one("#card-status", Static).update("")
        self.query_one("#no-card").display = True
        self.query_one("#no-card-title", Static).update(title or _("No card found"))
        text = detail
        if hints:
            text += "\n\n" + no_card_hints(module_paths or self._module_paths())
        self.query_one("#no-card-detail", Static).update(Content(text))

    # --- choosing -------------------------------------------------------------

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = self.query_one(CertificateList).chosen()
        if chosen is not None:
            self.leave(chosen)
