"""The README's recipe for a test card, run as written: make it, list it, sign, verify."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.softhsm

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "### A test card for `eonay certs` and `eonay sign`"


def recipe() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(HEADING) :]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_the_readmes_test_card_recipe_signs_and_openssl_verifies(tmp_path):
    bin_dir = str(Path(sys.executable).parent)  # `python` and `eonay` of this environment
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EONAY_", "SOFTHSM2_"))}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        TMPDIR=str(tmp_path),
        LANG="en_US.UTF-8",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", recipe()],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "TEVFİK EDİS" in done.stdout and "usable" in done.stdout
    assert "signed with TEVFİK EDİS" in done.stderr
    assert "CMS Verification successful" in done.stderr
    assert list(tmp_path.glob("tmp.*")) == []  # the card is gone
