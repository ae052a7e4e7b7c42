"""The terminal's real cursor on the focused field, so a braille display can follow it.

Textual moves the terminal's cursor to `App.cursor_position` at the end of
every update it writes (its Input does the same), and only then: a position
set while nothing else changes would wait for the next repaint. So `follow`
repaints one cell of the field when the position changes, and the move goes
out at once. The fields of this app that have a cursor of their own (the
code's digits, the PIN's masks) say where with `cursor_screen_offset`; every
other focused widget (a button, the certificate list) gets it at the start of
its content. The cursor stays hidden: Textual's driver hides it and offers no
public way to show it; a braille display and a screen reader's review cursor
track its position all the same.
"""

from __future__ import annotations

from textual.geometry import Offset, Region
from textual.widget import Widget

ONE_CELL = Region(0, 0, 1, 1)


def focus_offset(widget: Widget) -> Offset:
    """Where the cursor goes for `widget`: its own text cursor, or its content's first cell."""
    offset = getattr(widget, "cursor_screen_offset", None)
    if isinstance(offset, Offset):
        return offset
    region = widget.content_region
    return Offset(region.x, region.y)


def follow(widget: Widget) -> None:
    """Put the terminal's cursor on `widget` when it has the focus, written out now."""
    if not (widget.is_attached and widget.has_focus):
        return
    offset = focus_offset(widget)
    if widget.app.cursor_position != offset:
        widget.app.cursor_position = offset
        widget.refresh(ONE_CELL)  # an update to carry the move: Textual writes it after one
