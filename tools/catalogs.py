"""Keep the translation catalogs in step with the code.

    .venv/bin/python tools/catalogs.py          # update the .pot and each .po, compile the .mo
    .venv/bin/python tools/catalogs.py --check  # write nothing; exit 1 when something is behind

Extracts every msgid of `tui/` (`_`, `N_`, `ngettext`; see babel.cfg), then
keeps each catalog's header and translations, adds the new msgids
untranslated and drops the ones the code no longer has. `pybabel update
--omit-header` would drop the headers (the language and its plural rule),
which is why this exists. The new Turkish entries still need translating:
tests/screens/test_i18n.py fails until they are.
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "tui" / "i18n" / "locale"
DOMAIN = "eonay"
TEMPLATE = LOCALE / f"{DOMAIN}.pot"
WIDTH = 100

MsgId = str | tuple[str, ...]


def extracted() -> list[MsgId]:
    """The msgids in the code, as `pybabel extract -F babel.cfg` finds them."""
    found = extract_from_dir(
        ROOT,
        method_map=[("tui/**.py", "python")],
        keywords={**DEFAULT_KEYWORDS, "N_": None},
    )
    ids: dict[MsgId, None] = {}
    for _filename, _lineno, message, _comments, _context in found:
        ids[message] = None
    return list(ids)


def _key(msgid: MsgId) -> str:
    return msgid[0] if isinstance(msgid, tuple) else msgid


def template(ids: list[MsgId]) -> Catalog:
    """The .pot: its header kept, its messages those of the code (dated when they change)."""
    with TEMPLATE.open("rb") as f:
        pot = read_po(f)
    have = {_key(message.id) for message in pot if message.id}
    for key in have:
        del pot[key]
    for msgid in ids:
        pot.add(msgid)  # as extraction makes it, flags (python-brace-format) included
    if {_key(msgid) for msgid in ids} != have:
        pot.creation_date = datetime.now(UTC)
    return pot


def merged(language: str, pot: Catalog) -> Catalog:
    with (LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        po = read_po(f, locale=language)
    po.update(pot, no_fuzzy_matching=True, update_creation_date=False)
    return po


def rendered(pot: Catalog) -> dict[Path, bytes]:
    """Every catalog file as it should be, by path."""
    out: dict[Path, bytes] = {}
    buf = io.BytesIO()
    write_po(buf, pot, width=WIDTH, no_location=True, sort_output=True)
    out[TEMPLATE] = buf.getvalue()
    for directory in sorted(p for p in LOCALE.iterdir() if p.is_dir()):
        po = merged(directory.name, pot)
        messages = directory / "LC_MESSAGES"
        buf = io.BytesIO()
        write_po(buf, po, width=WIDTH, no_location=True, sort_output=True, ignore_obsolete=True)
        out[messages / f"{DOMAIN}.po"] = buf.getvalue()
        buf = io.BytesIO()
        write_mo(buf, po)
        out[messages / f"{DOMAIN}.mo"] = buf.getvalue()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if behind")
    args = parser.parse_args(argv)
    files = rendered(template(extracted()))
    behind = [path for path, data in files.items() if path.read_bytes() != data]
    for path in behind:
        rel = path.relative_to(ROOT)
        if args.check:
            print(f"{rel}: behind the code (run tools/catalogs.py)", file=sys.stderr)
        else:
            path.write_bytes(files[path])
            print(f"{rel}: updated")
    return 1 if args.check and behind else 0


if __name__ == "__main__":
    sys.exit(main())
