"""The catalogs: every string of the code is translated, and the committed .mo files are fresh."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from tui.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, _, set_language

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def code_msgids() -> set[str]:
    """What `pybabel extract -F babel.cfg` finds in the package."""
    found = extract_from_dir(
        ROOT,
        method_map=[("tui/**.py", "python")],
        keywords={**DEFAULT_KEYWORDS, "N_": None},
    )
    ids: set[str] = set()
    for _filename, _lineno, message, _comments, _context in found:
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def catalog(language: str):
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        return read_po(f, locale=language)


def test_extraction_finds_the_apps_strings():
    ids = code_msgids()
    assert "Verification code" in ids  # a screen
    assert "Quit" in ids  # a binding description
    assert "Wrong PIN." in ids  # the core's errors
    assert "the certificate has expired" in ids  # the core's reasons


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_msgid_of_the_code_is_in_the_catalog(language):
    missing = code_msgids() - {m.id for m in catalog(language) if m.id}
    assert not missing, f"run the steps in babel.cfg; missing in {language}: {sorted(missing)}"


def test_every_msgid_has_a_turkish_translation_with_the_same_placeholders():
    tr = catalog("tr")
    for message in tr:
        if not message.id:
            continue
        assert message.string, f"untranslated: {message.id!r}"
        assert sorted(PLACEHOLDER.findall(message.string)) == sorted(
            PLACEHOLDER.findall(message.id)
        ), message.id
        assert not message.fuzzy, message.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_file_matches_the_po_file(language):
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    expected = {m.id: m.string for m in catalog(language) if m.id and m.string}
    actual = {k: v for k, v in compiled._catalog.items() if k}  # type: ignore[attr-defined]
    assert actual == expected, "run `pybabel compile -d tui/i18n/locale -D eonay`"


def test_turkish_is_used_once_set():
    set_language("tr")
    assert _("Verification code") == "Doğrulama Kodu"
    assert _("Text to sign") == "İmzalanacak Metin"
    set_language("en")
    assert _("Verification code") == "Verification code"


def test_the_catalogs_are_in_step_with_the_code():
    """The .pot, each .po and each .mo are what tools/catalogs.py makes from the code now."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "catalogs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
