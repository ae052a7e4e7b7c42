"""The time said at the PIN prompt, the prompt written again after it; how plain mode is chosen."""

from __future__ import annotations

import argparse
import re

import pytest

from tui.core.errors import ConfigError
from tui.core.settings import Settings
from tui.core.setup.config import load_settings
from tui.plain.mode import plain_wanted

PROMPT_CODE = "Verification code: "
PROMPT_CERT = re.escape("Certificate number (Enter: ") + r"\d+\): "


def test_the_time_is_said_at_60_30_and_10_seconds_each_on_its_own_line(plain) -> None:
    run = plain()
    run.expect(PROMPT_CODE)
    run.answer(run.new_code())
    run.expect(PROMPT_CERT)
    run.answer("")
    run.expect(r"\r\nTime left: (5 minutes|4 minutes \d+ seconds)\r\nPIN: ")
    run.answer("")  # an empty line before any digit: the time again
    run.expect(r"\r\nTime left: (5 minutes|4 minutes \d+ seconds)\r\nPIN: ")
    run.child.send(run.pin[:3].encode())  # half the PIN typed when the time is said
    run.clock.advance(300 - 61)
    run.expect(r"\r\nTime left: 1 minute\r\nPIN: ")
    run.clock.advance(30)
    run.expect(r"\r\nTime left: 30 seconds\r\nPIN: ")
    run.clock.advance(20)
    run.expect(r"\r\nTime left: 10 seconds\r\nPIN: ")
    run.child.send(run.pin[3:].encode() + b"\r")  # the digits typed before are kept
    run.expect(r"E-ONAY Operations \[Y/n\]: ")
    said = run.output().decode()
    assert said.count("Time left:") == 6  # once at the certificate, never every second
    assert run.pin not in said and run.pin[:3] not in said.split("PIN: ", 1)[1]


def test_plain_mode_from_the_flag_the_file_the_variable_or_a_dumb_terminal(tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[ui]\nplain = true\n")
    from_file = load_settings(argparse.Namespace(config=str(config)), {})
    from_env = load_settings(argparse.Namespace(), {"EONAY_UI_PLAIN": "1", "HOME": str(tmp_path)})
    from_flag = load_settings(argparse.Namespace(plain=True), {"HOME": str(tmp_path)})
    default = load_settings(argparse.Namespace(), {"HOME": str(tmp_path)})
    assert from_file.plain and from_env.plain and from_flag.plain and not default.plain
    assert plain_wanted(Settings(), {"TERM": "dumb"})
    assert not plain_wanted(Settings(), {"TERM": "xterm-256color"})
    assert plain_wanted(Settings(plain=True), {"TERM": "xterm-256color"})


def test_a_wrong_plain_value_names_the_variable(tmp_path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(argparse.Namespace(), {"EONAY_UI_PLAIN": "maybe", "HOME": str(tmp_path)})
    assert "EONAY_UI_PLAIN" in caught.value.user_message()
