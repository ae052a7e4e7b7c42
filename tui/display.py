"""How times and untrusted strings look on screen, the same on every screen."""

from __future__ import annotations

from datetime import datetime

from tui.core.text import display_safe


def date_time(moment: datetime | None) -> str:
    """`13.11.2019 11:27:22`, as in the guide, in this computer's time zone."""
    return moment.astimezone().strftime("%d.%m.%Y %H:%M:%S") if moment else "—"


def date(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%d.%m.%Y") if moment else "—"


def shown(value: str | None, limit: int = 200) -> str:
    """A string from the card or the portal, cleaned for display (never for signing)."""
    return display_safe(value or "", limit)
