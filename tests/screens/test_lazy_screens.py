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


def test_the_step_screen_table_names_a_screen_for_every_step_after_the_first():
    from tui.screens.base import Dialog, FlowScreen
    from tui.step_screens import ERROR, HELP, STEP_SCREENS
    from tui.steps import Step

    assert set(STEP_SCREENS) == set(Step) - {Step.CODE_ENTRY}  # code entry is home
    for step, entry in STEP_SCREENS.items():
        screen = entry.screen.load()
        assert f"{screen.__module__}.{screen.__name__}" in {
            f"{module}.{name}" for module, name in LATER_SCREENS.items()
        }
        assert issubclass(screen, FlowScreen) and screen.STEP in (step, None)
    assert STEP_SCREENS[Step.LOGIN_PIN] is STEP_SCREENS[Step.E_ONAY_PIN]
    assert issubclass(HELP.load(), Dialog) and issubclass(ERROR.load(), Dialog)
