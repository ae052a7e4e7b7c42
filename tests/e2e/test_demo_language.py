"""`eonay demo` speaks the language chosen by flag (before or after `demo`), by `EONAY_*`
or by the configuration file, on its screens, in a real terminal (issue 16, item 7)."""

from __future__ import annotations

import shlex
import sys

import pytest

from tests.e2e.terminal import Terminal

pytestmark = pytest.mark.e2e

DEMO = [sys.executable, "-m", "tui", "demo"]


@pytest.mark.parametrize(
    ("args", "env", "config"),
    [
        (["--lang", "en"], {}, None),  # eonay --lang en demo
        ([], {"EONAY_LANG": "en"}, None),
        ([], {"EONAY_UI_LANGUAGE": "en"}, None),
        ([], {}, '[ui]\nlanguage = "en"\n'),
    ],
    ids=["flag-before-demo", "EONAY_LANG", "EONAY_UI_LANGUAGE", "config-file"],
)
def test_the_demo_follows_the_chosen_language(tmp_path, args, env, config):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    if config is not None:
        (tmp_path / "config" / "eonay").mkdir(parents=True)
        (tmp_path / "config" / "eonay" / "config.toml").write_text(config)
    term = Terminal(
        tmp_path,
        {
            "TMPDIR": str(scratch),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "LANG": "tr_TR.UTF-8",  # without a choice, Turkish
            **env,
        },
    )
    try:
        command = [sys.executable, "-m", "tui", *args, "demo"]
        term.type(f"{shlex.join(command)}; echo EXIT=$?")
        term.send("Enter")
        shown = term.wait_for("DEMO · Verification code:", 30)
        assert "0/14 digits" in shown and "Enter Continue" in shown
        assert "Doğrulama Kodu:" not in shown and "hane" not in shown
        term.send("C-q")
        term.wait_for("EXIT=0", 30)
    finally:
        term.close()


def test_without_a_choice_the_demo_is_turkish(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    term = Terminal(
        tmp_path,
        {
            "TMPDIR": str(scratch),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "LANG": "tr_TR.UTF-8",
        },
    )
    try:
        term.type(f"{shlex.join(DEMO)}; echo EXIT=$?")
        term.send("Enter")
        shown = term.wait_for("DEMO · Doğrulama Kodu:", 30)
        assert "0/14 hane" in shown
        term.send("C-q")
        term.wait_for("EXIT=0", 30)
    finally:
        term.close()
