"""PyKCS11 and the code that drives it stay out of the app's process.

Only the card process (`tui.core.card.process`) and the commands that work on
a module directly (`eonay doctor`, the simulator's provisioning) may import
PyKCS11 or `tui.core.card.pkcs11` / `tui.core.card.pkcs11_card`; everything
else reaches the card through `tui.core.card.client`. The runtime check is
tests/screens/test_card_process_app.py; this one reads the sources.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CARD_SIDE = {
    "PyKCS11",
    "tui.core.card.pkcs11",
    "tui.core.card.pkcs11_card",
    "tui.core.card.busy",
}
ALLOWED = {
    "tui/core/card/pkcs11.py",  # the PKCS#11 boundary itself
    "tui/core/card/pkcs11_card.py",
    "tui/core/card/busy.py",  # a held card told from a pulled one, for pkcs11_card and doctor
    "tui/core/card/process.py",  # the card process's main
    "tui/core/setup/doctor.py",  # `eonay doctor` probes a module directly, in its own command
    "tui/core/setup/bundle.py",  # `eonay doctor --bundle` traces one listing the same way
    "tui/sim/softhsm.py",  # provisions the test and demo tokens
}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def card_side(names: set[str]) -> set[str]:
    return {n for n in names if any(n == c or n.startswith(c + ".") for c in CARD_SIDE)}


def test_only_the_card_side_imports_pykcs11_or_the_token_code():
    offenders = {}
    for path in sorted((ROOT / "tui").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        found = card_side(imported(path))
        if found and relative not in ALLOWED:
            offenders[relative] = sorted(found)
    assert offenders == {}


def test_the_check_sees_an_import_of_the_card_side(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from tui.core.card.pkcs11_card import Pkcs11Card\n    import PyKCS11\n"
    )
    assert card_side(imported(sample)) == {
        "tui.core.card.pkcs11_card",
        "tui.core.card.pkcs11_card.Pkcs11Card",
        "PyKCS11",
    }
