"""Step 2: "Sertifika Seçiniz", the certificates of every token, following the card."""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static

from tui.card_hints import no_card_hints
from tui.core.errors import CardBusyError, CertificateNotUsableError, EonayError, time_over
from tui.flow import Expired
from tui.i18n import N_, _
from tui.operations import CardView
from tui.resources import stylesheets
from tui.screens.base import BACK, FlowScreen
from tui.steps import Step
from tui.widgets.certificate_list import CertificateList
from tui.widgets.countdown import Countdown

if TYPE_CHECKING:
    from tui.core.challenge import Challenge

READ = "read-card"
BUSY_RETRY = 2.0  # seconds between readings while another program holds the card


class CertificateSelectScreen(FlowScreen):
    """Lists certificates, re-reading the card about once a second; Enter chooses."""

    CSS_PATH: ClassVar = stylesheets("countdown.tcss", "certificate_select.tcss")

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
        challenge: Challenge | None = None,
        poll_interval: float = 1.0,
        banner: str | None = None,
    ) -> None:
        super().__init__(banner=banner)
        self.challenge = challenge  # the one the chosen certificate signs: its time runs here
        self._read_card = read_card
        self._module_paths = module_paths
        self._prefer = prefer
        self._message = message
        self._poll_interval = poll_interval
        self._reading = False
        self._first_contents: tuple[tuple[str, bool], ...] | None = None
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
        if self.challenge is not None:
            yield Countdown(self.challenge.seconds_left, id="countdown")

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
        self._card_seen(())
        self._show_no_card(error.user_message(), [])

    def _card_seen(self, contents: tuple[tuple[str, bool], ...]) -> None:
        """The message this screen opened with (the card was pulled, it changed) spoke of the
        card as it was then: once the card reads differently, it is no longer true."""
        if self._first_contents is None:
            self._first_contents = contents
        elif contents != self._first_contents:
            self.query_one("#message").display = False

    def _reading_over(self) -> None:
        self._reading = False

    def show_view(self, view: CardView) -> None:
        self._card_seen(tuple((c.list_id, c.usable) for c in view.certificates))
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
        if listing.show(certs, self._prefer):
            self._show_guidance()

    def _show_guidance(self) -> None:
        """What to do with the list as it is (replacing a refusal that is no longer news)."""
        listing = self.query_one(CertificateList)
        usable = sum(1 for c in listing.certificates if c.usable)
        status = self.query_one("#card-status", Static)
        status.set_class(False, "-warning")
        if usable == 0:
            status.update(_("None of these certificates can sign; the reasons are shown."))
        elif usable == 1 and listing.chosen() is not None:  # the one, highlighted
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

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_guidance()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        listing = self.query_one(CertificateList)
        chosen = listing.chosen()
        if chosen is not None and self.challenge is not None and self.challenge.expired():
            self._expire()  # between two ticks: nothing is chosen for a text that is over
            return
        if chosen is not None:
            self.leave(chosen)
            return
        refused = listing.highlighted_certificate()
        if refused is not None:  # a click on a certificate that cannot sign
            self.on_certificate_list_refused(CertificateList.Refused(refused))

    def on_certificate_list_refused(self, event: CertificateList.Refused) -> None:
        """Enter on a certificate that cannot sign: say why, and what to do instead."""
        event.stop()
        status = self.query_one("#card-status", Static)
        text = CertificateNotUsableError(event.certificate.reason or "").user_message()
        if any(c.usable for c in self.query_one(CertificateList).certificates):
            text += " " + _("Choose a usable certificate with ↑ ↓.")
        status.update(Content(text))
        status.set_class(True, "-warning")

    # --- the time --------------------------------------------------------------

    def on_countdown_expired(self, event: Countdown.Expired) -> None:
        """Also right after mount, for a challenge that arrived already over."""
        event.stop()
        self._expire()

    def _expire(self) -> None:
        assert self.challenge is not None
        self.leave(Expired(time_over(self.challenge.purpose)))
