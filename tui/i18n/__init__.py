"""Translations through gettext, with Turkish as the default language.

msgids are English; the Turkish catalog translates them. Kept free of Textual
so that the core's error messages and the command-line tools share it.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

DOMAIN = "eonay"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("tr", "en")
DEFAULT_LANGUAGE = "tr"

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def language_from_environment(environ: dict[str, str] | None = None) -> str:
    """Pick tr or en from LC_ALL / LC_MESSAGES / LANG; Turkish unless English is asked for."""
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "en" if value.lower().startswith("en") else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    """Switch every later `_()` call to `lang` (tr or en)."""
    global _translation, _language
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    _language = lang
    _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """Translate `message` into the current language."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it yet."""
    return message
