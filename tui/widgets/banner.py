"""The top line of every screen, and the demo banner under it."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from tui.i18n import _
from tui.steps import STEP_COUNT


class TitleBar(Static):
    """`eonay · Adım 2/6 · Sertifika Seçimi`: where you are in the guide."""

    def __init__(self, title: str, step: int | None = None) -> None:
        parts = ["eonay"]
        if step is not None:
            parts.append(_("Step {n}/{total}").format(n=step, total=STEP_COUNT))
        parts.append(title)
        super().__init__(Content(" · ".join(parts)), id="title-bar")


class DemoBanner(Static):
    """Stands in for the portal page in `eonay demo`: shows the code and the PIN to type."""

    def __init__(self, text: str) -> None:
        super().__init__(Content(text), id="demo-banner")

    def show_text(self, text: str) -> None:
        self.update(Content(text))
