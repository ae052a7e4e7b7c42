"""The certificates of every token: usable ones chosen with Enter, the others with a reason.

Every row can be reached with the keys (↑ ↓ PgUp PgDn Home End), so an unusable
certificate's reason can be read too; Enter on it says why it cannot sign, and
the key bar says which of the two Enter does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from textual.binding import Binding
from textual.content import Content
from textual.css.styles import RulesMap
from textual.geometry import Offset
from textual.message import Message
from textual.visual import visualize
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.core.card_info import CertificateInfo
from tui.core.reasons import reason_text
from tui.display import date, shown
from tui.i18n import N_, _
from tui.widgets.terminal_cursor import follow


def option_content(cert: CertificateInfo) -> Content:
    """Three lines: who, from whom and until when, and why not (when unusable)."""
    mark = _("Qualified") if cert.qualified else _("not qualified")
    who = Content.assemble(
        (shown(cert.holder, 60), "bold"),
        "  ",
        _("T.C. {serial}").format(serial=shown(cert.serial_masked, 20)),
        "  ",
        (f"[{mark}]", "bold" if cert.qualified else "dim"),
    )
    issuer = Content("  " + _("Issuer: {issuer}").format(issuer=shown(cert.issuer, 58)))
    validity = Content(
        "  "
        + _("Valid until {date} · {key} · card: {token}").format(
            date=date(cert.not_after), key=shown(cert.key, 20), token=shown(cert.token.label, 32)
        )
    )
    lines = [who, issuer, validity]
    if not cert.usable:
        lines = [line.stylize("dim") for line in lines]
        reason = reason_text(cert.reason or "")
        lines.append(
            Content.styled("  " + _("Cannot be used: {reason}").format(reason=reason), "italic")
        )
    return Content("\n").join(lines)


class CertificateList(OptionList):
    """An OptionList of certificates that keeps its highlight when re-filled."""

    BINDINGS = [  # noqa: RUF012
        # One of the two, as the highlighted certificate can sign or not (`check_action`).
        Binding("enter", "select", N_("Continue"), key_display="Enter"),
        Binding("enter", "explain", N_("Why not"), key_display="Enter"),
    ]

    class Refused(Message):
        """Enter (or a click) on a certificate that cannot sign."""

        def __init__(self, certificate: CertificateInfo) -> None:
            super().__init__()
            self.certificate = certificate

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: list[tuple[str, bool, str | None]] = []
        self.certificates: list[CertificateInfo] = []

    def show(self, certificates: Sequence[CertificateInfo], prefer: str | None = None) -> bool:
        """Fill the list; returns False (and changes nothing) when nothing changed.

        The highlight stays on the same certificate when it is still there;
        otherwise it goes to `prefer`, or to the first usable certificate (the
        first row when none is usable, so Enter can say why).
        """
        unique = {c.list_id: c for c in reversed(certificates)}  # first one of a twin
        certificates = [c for c in certificates if unique.get(c.list_id) is c]
        signature = [(c.list_id, c.usable, c.reason) for c in certificates]
        if signature == self._shown:
            return False
        keep = None
        if self.highlighted is not None:
            keep = self.get_option_at_index(self.highlighted).id
        self._shown = signature
        self.certificates = list(certificates)
        options: list[Option | None] = []
        for cert in self.certificates:
            if options:
                options.append(None)  # a separator line between certificates
            options.append(Option(option_content(cert), id=cert.list_id))
        self.set_options(options)
        by_id = {c.list_id: c for c in self.certificates}
        target = (
            by_id.get(keep or "")
            or next((c for c in self.certificates if c.usable and c.list_id == prefer), None)
            or next((c for c in self.certificates if c.usable), None)
            or next(iter(self.certificates), None)
        )
        self.highlighted = self.get_option_index(target.list_id) if target is not None else None
        self.refresh_bindings()
        return True

    def highlighted_certificate(self) -> CertificateInfo | None:
        if self.highlighted is None:
            return None
        option_id = self.get_option_at_index(self.highlighted).id
        return next((c for c in self.certificates if c.list_id == option_id), None)

    def chosen(self) -> CertificateInfo | None:
        """The highlighted certificate, when it can sign."""
        cert = self.highlighted_certificate()
        return cert if cert is not None and cert.usable else None

    # --- the terminal's cursor on the highlighted certificate (a braille display reads there)

    @property
    def cursor_screen_offset(self) -> Offset | None:
        """The highlighted certificate's first line on the screen; None when none is shown.

        Each option is as high as its lines at the list's width, and a separator
        line follows each but the last (`show` builds the list that way).
        """
        if self.highlighted is None:
            return None
        region = self.scrollable_content_region
        padding = self.get_component_styles("option-list--option").padding
        width = region.width - padding.width
        rules = cast(RulesMap, self.styles)  # as OptionList measures its options
        line = 0
        for option in self.options[: self.highlighted]:
            line += visualize(self, option.prompt, markup=False).get_height(rules, width) + 1
        y = region.y + line - round(self.scroll_offset.y)
        if not region.y <= y < region.bottom:
            return None
        return Offset(region.x + padding.left, y)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.call_after_refresh(follow, self)  # once scrolled to it

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("select", "explain"):
            cert = self.highlighted_certificate()
            if cert is None:
                return False
            return cert.usable is (action == "select")
        return True

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        self.refresh_bindings()  # the key bar follows: Continue, or Why not

    def action_explain(self) -> None:
        cert = self.highlighted_certificate()
        if cert is not None and not cert.usable:
            self.post_message(self.Refused(cert))
