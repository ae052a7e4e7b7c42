"""The terminal's real cursor on the focused field, so a braille display can follow it.

Textual moves the terminal's cursor to `App.cursor_position` after every
update (its Input does the same); the fields of this app that have a cursor of
their own (the code's digits, the PIN's masks) say where with
`cursor_screen_offset`, every other focused widget gets it at the start of its
content. The cursor stays hidden: Textual's driver hides it and offers no
public way to show it.
"""

from __future__ import annotations

from textual.geometry import Offset
from textual.widget import Widget


def focus_offset(widget: Widget) -> Offset:
    """Where the cursor goes for `widget`: its own text cursor, or its content's first cell."""
    offset = getattr(widget, "cursor_screen_offset", None)
    if isinstance(offset, Offset):
        return offset
    region = widget.content_region
    return Offset(region.x, region.y)


def follow(widget: Widget) -> None:
    """Put the terminal's cursor on `widget` when it has the focus."""
    if widget.is_attached and widget.has_focus:
        widget.app.cursor_position = focus_offset(widget)
