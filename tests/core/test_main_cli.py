"""`eonay`'s parser: every subcommand listed, only the chosen one's module imported."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from tui.__main__ import SUBCOMMANDS, build_parser


def test_help_lists_every_subcommand_with_its_line():
    text = build_parser().format_help()
    for name, (_module, help_text) in SUBCOMMANDS.items():
        assert name in text and help_text in text


def test_the_app_does_not_import_the_other_commands():
    code = (
        "import sys\n"
        "from tui.__main__ import build_parser\n"
        "build_parser().parse_args(['--portal', 'http://127.0.0.1:9/'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('tui.commands.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['tui.commands.app']"


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_a_chosen_subcommand_gets_all_its_flags(name, capsys):
    """The same help as a parser configured up front by the command's own module."""
    expected = argparse.ArgumentParser(prog=f"eonay {name}", description=SUBCOMMANDS[name][1])
    importlib.import_module(f"tui.commands.{SUBCOMMANDS[name][0]}").configure(expected)
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([name, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out == expected.format_help()
