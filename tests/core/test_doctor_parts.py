"""Doctor's checks that need no card: Python and packages, configuration, log, pcscd."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.settings import Settings
from tui.core.setup.doctor import (
    Check,
    Report,
    Status,
    check_discovery,
    check_log,
    check_package,
    check_pcscd,
    check_python,
    load_settings_leniently,
)
from tui.core.setup.modules import ModuleCandidate, Source


def test_python_version() -> None:
    assert check_python((3, 12, 1)).status is Status.OK
    old = check_python((3, 10, 9))
    assert old.status is Status.ERROR and old.hint


def test_packages() -> None:
    assert check_package("pytest", "pytest").status is Status.OK
    missing = check_package("eonay-no-such-distribution", "nothing")
    assert missing.status is Status.ERROR and missing.subject == "eonay-no-such-distribution"
    # installed but broken: the distribution exists, the import does not
    broken = check_package("pytest", "pytest_no_such_module_xyz")
    assert broken.status is Status.ERROR and "import" in broken.detail


def test_report_is_well_unless_a_check_failed() -> None:
    report = Report()
    report.add(Check("a", Status.OK, "fine"))
    report.add(Check("b", Status.WARNING, "meh", "detail", "hint"))
    assert report.ok
    report.add(Check("c", Status.ERROR, "broken", "detail", "hint"))
    assert not report.ok
    data = report.to_json()
    assert data["ok"] is False and data["schema"] == 1
    assert [c["status"] for c in data["checks"]] == ["ok", "warning", "error"]
    assert data["checks"][0]["hint"] is None


def env_for(tmp_path: Path) -> dict[str, str]:
    return {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }


def test_config_in_use(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    settings, checks = load_settings_leniently(argparse.Namespace(), env)
    assert settings == Settings()
    assert checks[0].status is Status.OK and str(tmp_path / "cfg") in checks[0].detail
    path = tmp_path / "cfg" / "eonay" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[ui]\nlanguage = "en"\n')
    settings, checks = load_settings_leniently(argparse.Namespace(), env)
    assert settings.language == "en" and checks[0].subject == str(path)


def test_a_broken_config_is_a_failed_check_and_the_rest_goes_on(tmp_path: Path) -> None:
    env = {**env_for(tmp_path), "EONAY_UI_LANGUAGE": "en"}
    path = tmp_path / "cfg" / "eonay" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("[kiosk]\nidle_seconds = 'x'\n")
    args = argparse.Namespace(portal="https://flag.example/")
    settings, checks = load_settings_leniently(args, env)
    assert checks[0].status is Status.ERROR
    assert "kiosk.idle_seconds" in checks[0].detail and str(path) in checks[0].detail
    # the flags and the environment still count
    assert settings.portal_url == "https://flag.example/"
    assert settings.language == "en"


def test_log_file(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    check = check_log(Settings(), env)
    assert check.status is Status.OK
    assert check.subject == str(tmp_path / "state" / "eonay" / "eonay.log")
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    bad = check_log(Settings(log_file=blocked / "eonay.log"), env)
    assert bad.status is Status.WARNING


def test_no_module_found_is_an_error_with_a_hint() -> None:
    none = check_discovery([])
    assert none.status is Status.ERROR and "opensc" in none.hint.lower()
    some = check_discovery([ModuleCandidate("/x.so", Source.FLAG, "--module", True)])
    assert some.status is Status.OK and "/x.so" in some.detail


@pytest.fixture
def listening_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pcscd.comm"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    yield path
    server.close()


def test_pcscd_reachable(listening_socket: Path) -> None:
    opensc = [ModuleCandidate("/usr/lib/opensc-pkcs11.so", Source.WELL_KNOWN, "OpenSC", True)]
    env = {"PCSCLITE_CSOCK_NAME": str(listening_socket)}
    check = check_pcscd(opensc, env, tokens_found=False)
    assert check.status is Status.OK and str(listening_socket) in check.detail


def test_pcscd_missing(tmp_path: Path) -> None:
    opensc = [ModuleCandidate("/usr/lib/opensc-pkcs11.so", Source.WELL_KNOWN, "OpenSC", True)]
    env = {"PCSCLITE_CSOCK_NAME": str(tmp_path / "nothing")}
    assert check_pcscd(opensc, env, tokens_found=False).status is Status.ERROR
    # a token was found anyway (the driver does not need pcscd): only worth knowing
    assert check_pcscd(opensc, env, tokens_found=True).status is Status.WARNING
    # a stale socket file nobody listens on
    stale = tmp_path / "stale"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(stale))
    sock.close()
    check = check_pcscd(opensc, {"PCSCLITE_CSOCK_NAME": str(stale)}, tokens_found=False)
    assert check.status is Status.ERROR and "connect" in check.detail


def test_pcscd_not_needed_for_softhsm_or_a_remote_card(tmp_path: Path) -> None:
    env = {"PCSCLITE_CSOCK_NAME": str(tmp_path / "nothing")}
    for path in ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x/pkcs11/p11-kit-client.so"):
        candidate = ModuleCandidate(path, Source.FLAG, "--module", True)
        assert check_pcscd([candidate], env, tokens_found=False).status is Status.OK
