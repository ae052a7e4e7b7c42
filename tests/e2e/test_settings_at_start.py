"""`eonay --portal http://example.com/ --module /nope.so` in a real terminal: both problems
are on the first screen before a key is pressed, and a code typed anyway is not looked up."""

from __future__ import annotations

import shlex
import sys

import pytest

from tests.e2e.terminal import Terminal

pytestmark = pytest.mark.e2e


def test_bad_settings_are_on_the_first_screen_before_a_code(tmp_path):
    term = Terminal(tmp_path, {"XDG_STATE_HOME": str(tmp_path / "state")}, size=(100, 30))
    try:
        command = [sys.executable, "-m", "tui", "--lang", "en"]
        command += ["--portal", "http://example.com/", "--module", "/nope.so"]
        term.type(f"{shlex.join(command)}; echo EXIT=$?")
        term.send("Enter")
        shown = " ".join(term.wait_for("/nope.so does not exist", 30).split())
        assert "The portal address http://example.com/ uses plain http:// to another" in shown
        assert "0/14 digits" in shown  # nothing typed yet
        term.type("12345678901234")
        term.send("Enter")
        term.wait_for("The code was not looked up")
        term.send("C-q")
        term.wait_for("EXIT=0")
    finally:
        term.close()
