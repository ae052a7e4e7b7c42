"""The 14-digit verification code field: digits only, separators dropped."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input

from tui.i18n import N_, _
from tui.widgets.translated import translate_bindings

CODE_LENGTH = 14


class CodeField(Input):
    """An Input that keeps only ASCII digits and at most 14 of them.

    Typing a letter rings the bell; pasting `4958 6779-463734` keeps the digits.
    """

    BINDINGS = [  # noqa: RUF012
        Binding("enter", "submit", N_("Continue"), key_display="Enter"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            placeholder=_("14 digits"),
            max_length=CODE_LENGTH,
            id=id,
            select_on_focus=False,
        )
        translate_bindings(self)

    def replace(self, text: str, start: int, end: int) -> None:
        digits = "".join(ch for ch in text if "0" <= ch <= "9")
        if text and not digits:
            self.restricted()
            return
        super().replace(digits, start, end)
