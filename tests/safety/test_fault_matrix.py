"""The fault matrix (docs/reliability.md) cannot rot: every test it names exists, every row names
one, and every safety test is in it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MATRIX = ROOT / "docs" / "reliability.md"
NODE = re.compile(r"`(tests/[\w/]+\.py::\w+(?:\[[^\]`]+\])?)`")


def rows() -> list[str]:
    """The table rows of the matrix (header and separator lines left out)."""
    lines = MATRIX.read_text(encoding="utf-8").splitlines()
    table = [line for line in lines if line.startswith("|")]
    return [line for line in table if not line.startswith(("|---", "| fault or input"))]


def named() -> set[str]:
    return set(NODE.findall(MATRIX.read_text(encoding="utf-8")))


def collected(files: set[str]) -> set[str]:
    """Node ids pytest collects from `files`, as `pytest --collect-only -q` prints them."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-p", "no:randomly", *sorted(files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {line.strip() for line in proc.stdout.splitlines() if "::" in line}


def test_every_row_names_a_test():
    assert len(rows()) >= 30
    for row in rows():
        last_cell = row.rstrip().rstrip("|").rsplit("|", 1)[-1]
        assert NODE.search(last_cell), f"a row without a test: {row}"


def test_every_test_named_in_the_matrix_exists():
    references = named()
    files = {ref.split("::")[0] for ref in references}
    missing_files = sorted(f for f in files if not (ROOT / f).is_file())
    assert not missing_files, missing_files
    ids = collected(files | {"tests/safety"})
    for ref in sorted(references):
        found = ref in ids or ("[" not in ref and any(i.startswith(ref + "[") for i in ids))
        assert found, f"docs/reliability.md names {ref}, which pytest does not collect"

    # and every safety test is accounted for in the matrix
    safety = {re.sub(r"\[.*\]$", "", i) for i in ids if i.startswith("tests/safety/")}
    safety -= {i for i in safety if i.startswith("tests/safety/test_fault_matrix.py")}
    unnamed = sorted(safety - {re.sub(r"\[.*\]$", "", r) for r in references})
    assert not unnamed, f"safety tests missing from docs/reliability.md: {unnamed}"


def test_the_portal_rows_live_in_the_matrix():
    portal_doc = (ROOT / "docs" / "portal.md").read_text(encoding="utf-8")
    assert "reliability.md" in portal_doc
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Reliability" in readme and "docs/reliability.md" in readme
