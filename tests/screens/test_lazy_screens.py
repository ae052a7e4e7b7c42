"""The first screen pays only for itself: later screens and their stylesheets load when shown."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from tui.app import EonayApp
from tui.resources import styles_dir

LATER_SCREENS = {
    "tui.screens.certificate_select": "CertificateSelectScreen",
    "tui.screens.pin_entry": "PinEntryScreen",
    "tui.screens.e_onay_confirm": "EOnayConfirmScreen",
    "tui.screens.done": "DoneScreen",
    "tui.screens.help": "HelpDialog",
    "tui.screens.error": "ErrorDialog",
    "tui.screens.final_try": "FinalTryDialog",
}


def test_importing_the_app_leaves_the_later_screens_unimported():
    code = (
        "import sys, tui.app, tui.__main__\n"
        f"print(sorted(m for m in {sorted(LATER_SCREENS)!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("module", "name"), sorted(LATER_SCREENS.items()))
def test_each_later_screen_brings_its_own_stylesheet(module, name):
    screen = getattr(importlib.import_module(module), name)
    paths = [Path(p) for p in screen.CSS_PATH]
    assert paths and all(p.is_file() and p.parent == styles_dir() for p in paths)
    assert not set(paths) & {Path(p) for p in EonayApp.CSS_PATH}


def test_every_stylesheet_is_loaded_by_the_app_or_a_screen():
    from tui.screens.code_entry import CodeEntryScreen

    used = {Path(p).name for p in EonayApp.CSS_PATH}
    used |= {Path(p).name for p in CodeEntryScreen.CSS_PATH}
    for module, name in LATER_SCREENS.items():
        used |= {Path(p).name for p in getattr(importlib.import_module(module), name).CSS_PATH}
    assert used == {p.name for p in styles_dir().glob("*.tcss")}
