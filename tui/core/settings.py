"""The settings the app runs with, after flags, environment and file are merged.

`config` fills this from TOML, `EONAY_*` variables and flags; everything
else only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tui.core.text import LOGIN_TEXT

DEFAULT_ALLOWLIST: dict[str, tuple[str, ...]] = {"login": (LOGIN_TEXT,), "e-onay": ()}


@dataclass(frozen=True)
class Settings:
    """Everything the app can be told, with its defaults (`tui.core.setup.config` fills it in)."""

    portal_url: str | None = None
    ca_bundle: Path | None = None
    modules: tuple[str, ...] = ()  # explicit PKCS#11 modules; empty means discover
    modules_origin: str | None = None  # "--module" or the configuration file that named them
    language: str | None = None  # tr or en; None means from LANG, Turkish by default
    theme: str = "textual-dark"
    plain: bool = False  # line mode for screen readers, braille displays and dumb terminals
    screen_reader: bool = False  # the full-screen app's countdown in words, said at moments
    kiosk: bool = False
    kiosk_idle_seconds: int = 120
    shuffle_keypad: bool = False
    strict_text: bool | None = None  # None: on in kiosk mode, off elsewhere
    text_scripts: tuple[str, ...] = ()  # Unicode scripts a text to sign may use besides Latin
    allowlist: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_ALLOWLIST))
    log_level: str = "WARNING"
    log_file: Path | None = None  # None means the XDG state directory
    config_path: Path | None = None  # the file these came from, if any

    @property
    def strict(self) -> bool:
        return self.kiosk if self.strict_text is None else self.strict_text
