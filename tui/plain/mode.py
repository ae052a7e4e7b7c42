"""Whether a run is in plain mode: asked for (`--plain`, `[ui] plain`, `EONAY_UI_PLAIN`),
or the terminal cannot do anything else (`TERM=dumb`)."""

from __future__ import annotations

from collections.abc import Mapping

from tui.core.settings import Settings


def plain_wanted(settings: Settings, environ: Mapping[str, str]) -> bool:
    return settings.plain or environ.get("TERM", "").strip().lower() == "dumb"
