"""The app command reads its settings through `tui.core.setup.config`, logs through `setup.logs`."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.__main__ import build_parser
from tui.commands.app import discovered_modules, settings_from_args, start_logging
from tui.core.settings import Settings


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for name in ("EONAY_PKCS11_MODULE", "P11_KIT_SERVER_ADDRESS", "EONAY_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_app_reads_file_environment_and_flags(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = env / "cfg" / "eonay" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[portal]\nurl = "https://file.example/"\n[card]\nmodules = ["/opt/x/libakisp11.so"]\n'
        "[kiosk]\nenabled = true\nidle_seconds = 30\nshuffle_keypad = true\n"
    )
    monkeypatch.setenv("EONAY_KIOSK_IDLE_SECONDS", "45")
    args = build_parser().parse_args(["--lang", "en"])
    settings = settings_from_args(args)
    assert settings.portal_url == "https://file.example/"
    assert settings.kiosk and settings.shuffle_keypad and settings.strict
    assert settings.kiosk_idle_seconds == 45
    assert settings.language == "en"
    assert settings.config_path == config
    assert discovered_modules(settings) == ["/opt/x/libakisp11.so"]
    flagged = settings_from_args(build_parser().parse_args(["--module", "/a.so"]))
    assert discovered_modules(flagged) == ["/a.so"]


def test_a_bad_configuration_stops_the_app_naming_key_and_file(env: Path) -> None:
    bad = env / "bad.toml"
    bad.write_text("[kiosk]\nidle_seconds = 'soon'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "--config", str(bad), "--portal", "http://127.0.0.1:9/"],
        capture_output=True,
        text=True,
        env={**os.environ, "LANG": "en_US.UTF-8"},
        timeout=60,
    )
    assert proc.returncode == 2
    assert f"{bad}: kiosk.idle_seconds: " in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_app_logs_redacted_to_the_state_directory(env: Path) -> None:
    root = logging.getLogger()
    level = root.level
    try:
        path = start_logging(Settings(log_level="INFO"))
        assert path == env / "state" / "eonay" / "eonay.log"
        logging.getLogger("tui.test").info("posting with Authorization: Bearer abc123")
    finally:
        for handler in [h for h in root.handlers if getattr(h, "eonay", False)]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
    text = path.read_text()
    assert "Authorization: ***" in text and "abc123" not in text
