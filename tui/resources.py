"""Where the package's files are, in a source checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path, PurePath

_PACKAGE = Path(__file__).resolve().parent


def styles_dir() -> Path:
    """`tui/styles` inside a wheel; `styles/` at the repo root in a checkout."""
    installed = _PACKAGE / "styles"
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / "styles"


def stylesheet(name: str) -> Path:
    return styles_dir() / name


def stylesheets(*names: str) -> list[str | PurePath]:
    """A screen's CSS_PATH (read when it is first shown): shared sheets it needs, then its own."""
    return [stylesheet(name) for name in names]
