"""`eonay doctor` as a command: marks, hints, exit codes and the JSON schema."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.__main__ import main
from tui.i18n import current_language, set_language

CHECK_KEYS = {"id", "ok", "status", "title", "detail", "hint", "subject"}


@pytest.fixture(autouse=True)
def clean_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    for name in ("EONAY_PKCS11_MODULE", "P11_KIT_SERVER_ADDRESS", "EONAY_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture(autouse=True)
def keep_language() -> Iterator[None]:
    """The command sets the UI language for the process; put it back for other tests."""
    before = current_language()
    yield
    set_language(before)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def doctor_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["doctor", "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    code, report = doctor_json(capsys, "--module", "/nonexistent/libakisp11.so", "--portal", url)
    assert code == 1
    assert set(report) == {"schema", "ok", "checks"}
    assert report["schema"] == 1 and report["ok"] is False
    checks = report["checks"]
    assert isinstance(checks, list) and checks
    for check in checks:
        assert set(check) == CHECK_KEYS
        assert isinstance(check["id"], str) and isinstance(check["title"], str)
        assert isinstance(check["detail"], str)
        assert check["status"] in ("ok", "warning", "error")
        assert check["ok"] is (check["status"] != "error")
        assert check["hint"] is None or isinstance(check["hint"], str)
        if check["status"] == "error":
            assert check["hint"], check
    ids = [c["id"] for c in checks]
    for expected in ("python", "package", "config", "log", "modules", "module", "pcscd", "portal"):
        assert expected in ids
    module = next(c for c in checks if c["id"] == "module")
    assert module["subject"] == "/nonexistent/libakisp11.so" and module["ok"] is False
    portal = next(c for c in checks if c["id"] == "portal")
    assert portal["ok"] is False and portal["subject"] == url


def test_text_output_marks_and_hints(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--module", "/nonexistent/libakisp11.so", "--lang", "en"])
    out = capsys.readouterr().out
    assert code == 1
    assert "✓ Python" in out
    assert "✗ PKCS#11 module not found: /nonexistent/libakisp11.so" in out
    assert "→ fix: " in out
    assert "problem(s) found" in out


def test_flags_before_the_subcommand_count(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    _code, report = doctor_json_after(capsys, ["--portal", url, "doctor", "--json"])
    portal = next(c for c in report["checks"] if c["id"] == "portal")  # type: ignore[union-attr]
    assert portal["subject"] == url


def doctor_json_after(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> tuple[int, dict[str, object]]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_a_broken_configuration_fails_but_the_report_goes_on(
    capsys: pytest.CaptureFixture[str], clean_home: Path
) -> None:
    path = clean_home / "broken.toml"
    path.write_text("[kiosk]\nidle_seconds = -1\n")
    code, report = doctor_json(capsys, "--config", str(path), "--module", "/nonexistent.so")
    assert code == 1
    config = next(c for c in report["checks"] if c["id"] == "config")  # type: ignore[union-attr]
    assert config["ok"] is False
    assert "kiosk.idle_seconds" in config["detail"] and str(path) in config["detail"]
    assert any(c["id"] == "module" for c in report["checks"])  # type: ignore[union-attr]


def test_a_plain_http_portal_elsewhere_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    _code, report = doctor_json(capsys, "--portal", "http://portal.example/")
    tls = next(c for c in report["checks"] if c["id"] == "portal.tls")  # type: ignore[union-attr]
    assert tls["ok"] is False and "https" in tls["hint"]


def test_turkish_by_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "tr_TR.UTF-8")
    code = main(["doctor", "--module", "/nonexistent/libakisp11.so"])
    out = capsys.readouterr().out
    assert code == 1
    assert "✗ PKCS#11 modülü bulunamadı: /nonexistent/libakisp11.so" in out
    assert "→ çözüm: " in out and "sorun bulundu" in out
