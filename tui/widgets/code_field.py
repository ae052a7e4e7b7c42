"""The 14-digit verification code field: digits only, separators dropped, nothing blinking.

Not Textual's Input. A person often waits on this screen while the portal's
page shows the code, and Input's blinking cursor would write to the terminal
twice a second all that time (over SSH, for nothing); its stylesheet and
machinery were also a sixth of what the first screen cost beyond a bare
Textual app. A code needs little of it: digits in, a cursor to fix one, a
paste that drops the spaces and dashes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Offset
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tui.i18n import N_, _
from tui.widgets.terminal_cursor import follow

if TYPE_CHECKING:
    from textual import events

CODE_LENGTH = 14
DIGITS = frozenset("0123456789")


class CodeField(Widget, can_focus=True):
    """Keeps only ASCII digits and at most 14 of them.

    Typing a letter rings the bell; pasting `4958 6779-463734` keeps the digits.
    """

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"code-field--cursor", "code-field--placeholder"}
    DEFAULT_CSS = """
    CodeField {
        background: $surface;
        color: $foreground;
        padding: 0 2;
        border: tall $border-blurred;
        width: 100%;
        height: 3;
        pointer: text;
        &:focus {
            border: tall $border;
            background-tint: $foreground 5%;
        }
        & > .code-field--cursor {
            background: $input-cursor-background;
            color: $input-cursor-foreground;
            text-style: $input-cursor-text-style;
        }
        & > .code-field--placeholder { color: $text-disabled; }
        &:disabled { color: $text-disabled; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", N_("Continue"), key_display="Enter"),
        Binding("backspace", "delete_left", show=False),
        Binding("delete", "delete_right", show=False),
        Binding("left", "cursor_left", show=False),
        Binding("right", "cursor_right", show=False),
        Binding("home,ctrl+a", "cursor_home", show=False),
        Binding("end,ctrl+e", "cursor_end", show=False),
        Binding("ctrl+u", "delete_to_start", show=False),
    ]

    value: reactive[str] = reactive("", init=False)

    class Changed(Message):
        def __init__(self, value: str) -> None:
            super().__init__()
            self.value = value

    class Submitted(Message):
        def __init__(self, value: str) -> None:
            super().__init__()
            self.value = value

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cursor = 0  # where the next digit goes, 0..len(value)
        self._editing = False

    # --- the value ---------------------------------------------------------

    def insert_text_at_cursor(self, text: str) -> None:
        """Type or paste `text`: its digits go in at the cursor, as many as fit."""
        digits = "".join(ch for ch in text if ch in DIGITS)
        room = CODE_LENGTH - len(self.value)
        if (text and not digits) or (digits and room <= 0):
            self.app.bell()
            return
        digits = digits[:room]
        self._edit(
            self.value[: self.cursor] + digits + self.value[self.cursor :],
            self.cursor + len(digits),
        )

    def clear(self) -> None:
        self.value = ""

    def _edit(self, value: str, cursor: int) -> None:
        """An edit always changes the value, so `watch_value` redraws."""
        self._editing = True
        try:
            self.cursor = cursor
            self.value = value
        finally:
            self._editing = False

    def watch_value(self, value: str) -> None:
        if not self._editing:  # set from outside: the cursor goes to the end, as in an Input
            self.cursor = len(value)
        self.refresh()
        follow(self)
        self.post_message(self.Changed(value))

    @property
    def cursor_screen_offset(self) -> Offset:
        """The cell of the cursor on the screen (digits are one cell each)."""
        region = self.content_region
        return Offset(region.x + self.cursor, region.y)

    # --- drawing ----------------------------------------------------------

    def render(self) -> Text:
        show_cursor = self.has_focus and not self.disabled
        if self.value:
            text = Text(self.value + " ")  # a cell for the cursor after the last digit
            at = self.cursor
        else:
            text = Text(_("14 digits"), self.get_component_rich_style("code-field--placeholder"))
            at = 0
        if show_cursor:
            text.stylize(self.get_component_rich_style("code-field--cursor"), at, at + 1)
        return text

    def _on_focus(self, event: events.Focus) -> None:
        self.refresh()
        self.call_after_refresh(follow, self)  # once laid out: a screen focuses before that

    def _on_blur(self, event: events.Blur) -> None:
        self.refresh()

    # --- keys, paste, clicks ---------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character is not None:
            event.stop()
            event.prevent_default()
            self.insert_text_at_cursor(event.character)

    def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()
        self.insert_text_at_cursor(event.text)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            self._move(offset.x)

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self.value))

    def action_delete_left(self) -> None:
        if self.cursor > 0:
            self._edit(self.value[: self.cursor - 1] + self.value[self.cursor :], self.cursor - 1)

    def action_delete_right(self) -> None:
        if self.cursor < len(self.value):
            self._edit(self.value[: self.cursor] + self.value[self.cursor + 1 :], self.cursor)

    def action_delete_to_start(self) -> None:
        if self.cursor > 0:
            self._edit(self.value[self.cursor :], 0)

    def action_cursor_left(self) -> None:
        self._move(self.cursor - 1)

    def action_cursor_right(self) -> None:
        self._move(self.cursor + 1)

    def action_cursor_home(self) -> None:
        self._move(0)

    def action_cursor_end(self) -> None:
        self._move(len(self.value))

    def _move(self, cursor: int) -> None:
        self.cursor = max(0, min(cursor, len(self.value)))
        self.refresh()
        follow(self)
