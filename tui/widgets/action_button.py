"""A button whose Enter key shows in the footer, so the keyboard path is visible."""

from __future__ import annotations

from textual.binding import Binding
from textual.content import Content
from textual.widgets import Button

from tui.i18n import N_


class ActionButton(Button):
    BINDINGS = [Binding("enter", "press", N_("Choose"), key_display="Enter")]  # noqa: RUF012

    def __init__(self, label: str, *, id: str | None = None, variant: str = "default") -> None:
        super().__init__(label, id=id, variant=variant)  # type: ignore[arg-type]

    def key_description(self, action: str) -> str | None:
        """The key bar says what Enter does here: this button's own label."""
        label = Content.from_text(self.label).plain  # validated into Content when set
        return label if action == "press" and label else None

    def watch_label(self, label: object) -> None:
        self.refresh_bindings()  # a new label (Send again, Start again): the key bar follows
