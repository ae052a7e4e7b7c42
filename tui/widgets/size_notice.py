"""What every screen shows instead of itself in a terminal below the minimum size."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from tui.i18n import _
from tui.terminal_size import MIN_HEIGHT, MIN_WIDTH


class SizeNotice(Static):
    """Hidden until the screen has a `-too-narrow` or `-too-low` class (app.tcss).

    It lies on a layer of its own above everything else on the screen, so it
    covers the screen whatever the screen shows or hides itself.
    """

    def __init__(self) -> None:
        text = "\n".join(
            (
                _("Make the window larger: at least {width}×{height}").format(
                    width=MIN_WIDTH, height=MIN_HEIGHT
                ),
                _("Nothing can be signed until then."),
            )
        )
        super().__init__(Content(text), id="size-notice")
