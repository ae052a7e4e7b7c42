"""`eonay doctor` against the real SoftHSM card and the real portal simulator.

The card is the session's SoftHSM token (`softhsm_card`); the portal is the
project's simulator on 127.0.0.1, over HTTP and over HTTPS with a CA made by
trustme. The PIN flags SoftHSM never sets are injected at the token boundary
(`Pkcs11Module.token`), everything else is the real token.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import trustme
from PyKCS11 import CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED

from tests.core.test_token_initargs import SHIM_C
from tests.shims import compile_module
from tui.__main__ import main
from tui.core.card.pkcs11 import Pkcs11Module
from tui.core.setup.doctor import Report, Status, run_checks
from tui.core.setup.modules import SearchPaths
from tui.sim.server import RunningPortal, running_portal

pytestmark = pytest.mark.softhsm


def libc_path() -> str:
    for pattern in (
        "/lib/*-linux-gnu/libc.so.6",
        "/usr/lib/*-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
    ):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    pytest.skip("no libc.so.6 to use as a library that is not PKCS#11")


@pytest.fixture(scope="module")
def portal() -> Iterator[RunningPortal]:
    with running_portal() as running:
        yield running


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """A clean user: no configuration file, logs in tmp, no module variables."""
    return {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd"),
    }


def args(modules: list[str], portal: str | None = None, **more: Any) -> argparse.Namespace:
    return argparse.Namespace(module=modules, portal=portal, config=None, **more)


def by_id(report: Report, id: str) -> list[Any]:
    return [c for c in report.checks if c.id == id]


def one(report: Report, id: str, subject: str | None = None) -> Any:
    found = [c for c in by_id(report, id) if subject is None or c.subject == subject]
    assert len(found) == 1, (id, subject, found)
    return found[0]


def test_all_is_well_with_the_softhsm_card_and_the_simulator(
    softhsm_card: Any, portal: RunningPortal, environ: dict[str, str]
) -> None:
    module = softhsm_card.module_path
    report = run_checks(args([module], portal.url), environ)
    assert report.ok, [c for c in report.checks if not c.ok]
    assert one(report, "module", module).status is Status.OK
    slots = one(report, "slots", module)
    assert slots.status is Status.OK
    tokens = by_id(report, "token")
    assert sorted(c.title.split()[-1] for c in tokens) == sorted(
        label.split()[-1] for label in softhsm_card.tokens
    )
    for token in tokens:
        pin = one(report, "pin", token.subject)
        # SoftHSM sets COUNT_LOW after a wrong PIN (other tests type some) until a good login
        if "USER_PIN_COUNT_LOW" in pin.detail:
            assert pin.status is Status.WARNING and "wrong PINs" in pin.title
        else:
            assert pin.status is Status.OK
    # one check per certificate, usable exactly when the test PKI made it so
    certs = by_id(report, "certificate")
    assert len(certs) == len(softhsm_card.holders)
    usable = [h for h in softhsm_card.holders if h.usable]
    assert sum(c.status is Status.OK for c in certs) == len(usable)
    for check in certs:
        if check.status is not Status.OK:
            assert check.status is Status.WARNING and check.hint
    expired = next(h for h in softhsm_card.holders if h.expired)
    expired_check = next(c for c in certs if expired.name in c.title)
    assert "expired" in expired_check.title
    assert one(report, "certificates").title.endswith(str(len(usable)))
    # SoftHSM needs no PC/SC daemon
    assert one(report, "pcscd").status is Status.OK
    assert one(report, "portal.tls").status is Status.OK
    portal_check = one(report, "portal")
    assert portal_check.status is Status.OK and "answers" in portal_check.detail


def test_the_command_exits_0_when_all_is_well(
    softhsm_card: Any,
    portal: RunningPortal,
    environ: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("P11_KIT_SERVER_ADDRESS", raising=False)
    code = main(["doctor", "--module", softhsm_card.module_path, "--portal", portal.url])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "✗" not in out and "All is well." in out
    code = main(["doctor", "--json", "--module", softhsm_card.module_path, "--portal", portal.url])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"] is True


def test_a_missing_module_and_one_that_is_not_pkcs11(
    softhsm_card: Any, environ: dict[str, str]
) -> None:
    libc = libc_path()
    missing = "/nonexistent/libakisp11.so"
    report = run_checks(args([softhsm_card.module_path, libc, missing]), environ)
    assert not report.ok
    assert one(report, "module", softhsm_card.module_path).status is Status.OK
    not_pkcs11 = one(report, "module", libc)
    assert not_pkcs11.status is Status.ERROR
    assert "C_GetFunctionList" in not_pkcs11.detail and not_pkcs11.hint
    gone = one(report, "module", missing)
    assert gone.status is Status.ERROR and "not found" in gone.title and gone.hint
    # the card in the module that works is still checked
    assert one(report, "certificates").status is Status.OK


def test_no_module_that_works_means_no_card(environ: dict[str, str], tmp_path: Path) -> None:
    garbage = tmp_path / "libgarbage.so"
    garbage.write_bytes(b"not an ELF file")
    report = run_checks(args([str(garbage)]), environ)
    check = one(report, "module", str(garbage))
    assert check.status is Status.ERROR and "cannot load" in check.detail
    assert one(report, "certificates").status is Status.ERROR
    assert one(report, "pcscd").status is Status.ERROR  # no pcscd, and no card either


def test_an_automatically_found_broken_driver_is_only_a_warning(
    softhsm_card: Any, environ: dict[str, str], tmp_path: Path
) -> None:
    """p11-kit registers SoftHSM; a broken AKIS driver is lying around: the card still works."""
    p11kit = tmp_path / "p11-kit-modules"
    p11kit.mkdir()
    (p11kit / "softhsm2.module").write_text(f"module: {softhsm_card.module_path}\n")
    libs = tmp_path / "lib"
    libs.mkdir()
    (libs / "libakisp11.so").write_bytes(b"\x7fELF truncated")
    paths = SearchPaths((p11kit,), (tmp_path / "pkcs11",), (libs,))
    report = run_checks(args([]), environ, paths=paths)
    akis = one(report, "module", str(libs / "libakisp11.so"))
    assert akis.status is Status.WARNING
    assert "well-known" in akis.detail
    softhsm = one(report, "module", softhsm_card.module_path)
    assert softhsm.status is Status.OK and "p11-kit" in softhsm.detail
    assert one(report, "certificates").status is Status.OK
    assert report.ok


def flags_added(monkeypatch: pytest.MonkeyPatch, extra: int) -> None:
    """SoftHSM never sets the PIN counters: add them where the token's info is read."""
    original = Pkcs11Module.token

    def token(self: Pkcs11Module, slot_id: int) -> Any:
        raw = original(self, slot_id)
        return replace(raw, flags=raw.flags | extra)

    monkeypatch.setattr(Pkcs11Module, "token", token)


def test_final_try_is_a_warning(
    softhsm_card: Any, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    flags_added(monkeypatch, CKF_USER_PIN_FINAL_TRY)
    report = run_checks(args([softhsm_card.module_path]), environ)
    pins = by_id(report, "pin")
    assert pins and all(c.status is Status.WARNING for c in pins)
    assert all("USER_PIN_FINAL_TRY" in c.detail for c in pins)
    assert report.ok


def test_a_locked_pin_fails_with_the_unlock_hint(
    softhsm_card: Any, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    flags_added(monkeypatch, CKF_USER_PIN_LOCKED)
    report = run_checks(args([softhsm_card.module_path]), environ)
    pins = by_id(report, "pin")
    assert pins and all(c.status is Status.ERROR for c in pins)
    assert all("Kilit Çözme" in c.hint for c in pins)
    # no certificate can sign with a locked PIN
    assert all(c.status is not Status.OK for c in by_id(report, "certificate"))
    assert one(report, "certificates").status is Status.ERROR
    assert not report.ok


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def portal_checks(url: str, environ: dict[str, str], **more: Any) -> tuple[Any, ...]:
    report = run_checks(args(["/nonexistent.so"], url, **more), environ, portal_timeout=5)
    return tuple(c for c in report.checks if c.id.startswith("portal"))


def test_portal_unreachable(environ: dict[str, str]) -> None:
    (check,) = portal_checks(f"http://127.0.0.1:{closed_port()}/", environ)
    assert check.id == "portal" and check.status is Status.ERROR and check.hint


def test_portal_url_that_is_not_the_api(portal: RunningPortal, environ: dict[str, str]) -> None:
    tls, check = portal_checks(portal.url.rstrip("/") + "/somewhere/else/", environ)
    assert tls.status is Status.OK
    assert check.status is Status.WARNING and "base URL" in check.hint


@pytest.fixture(scope="module")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https_portal(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    where = tmp_path_factory.mktemp("tls")
    leaf = tls_ca.issue_cert("127.0.0.1")
    cert, key = where / "server.pem", where / "server.key"
    leaf.private_key_pem.write_to_path(str(key))
    for i, pem in enumerate(leaf.cert_chain_pems):
        pem.write_to_path(str(cert), append=i > 0)
    with running_portal(ssl_certfile=cert, ssl_keyfile=key) as running:
        yield running.url


def test_portal_tls_that_does_not_verify(https_portal: str, environ: dict[str, str]) -> None:
    (check,) = portal_checks(https_portal, environ)
    assert check.id == "portal.tls" and check.status is Status.ERROR
    assert "--ca-bundle" in check.hint


def test_portal_tls_with_the_ca_bundle(
    https_portal: str, tls_ca: trustme.CA, environ: dict[str, str], tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(bundle))
    tls, check = portal_checks(https_portal, environ, ca_bundle=str(bundle))
    assert tls.status is Status.OK and "verified" in tls.detail
    assert check.status is Status.OK


def test_plain_http_elsewhere_is_refused(environ: dict[str, str]) -> None:
    (check,) = portal_checks("http://portal.example/", environ)
    assert check.id == "portal.tls" and check.status is Status.ERROR


@pytest.fixture(scope="module")
def strict_init_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The signer's test driver that refuses C_Initialize arguments, like AKIS (needs cc)."""
    return compile_module(SHIM_C, tmp_path_factory.mktemp("shim"), "akisp11")


@pytest.mark.parametrize("strict", [False, True])
def test_a_driver_refusing_initialize_arguments(
    strict_init_module: Path,
    softhsm_card: Any,
    environ: dict[str, str],
    tmp_path: Path,
    strict: bool,
) -> None:
    """In a fresh process: a module is initialised once per process."""
    env = {
        **os.environ,
        **environ,
        **softhsm_card.env,
        "EONAY_SHIM_TARGET": softhsm_card.module_path,
        "EONAY_SHIM_LOG": str(tmp_path / "init.log"),
        "LANG": "en_US.UTF-8",
    }
    if strict:
        env["EONAY_SHIM_STRICT"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "doctor", "--json", "--module", str(strict_init_module)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(proc.stdout)
    module = next(c for c in report["checks"] if c["id"] == "module")
    assert module["status"] == "warning"
    assert "CKR_ARGUMENTS_BAD" in module["hint"] and "AKIS" in module["hint"]
    # Refusing even once initialised with NULL: the report says so, and that eonay copes.
    assert ("even once initialised" in module["hint"]) is strict
    assert ("CKR_CRYPTOKI_ALREADY_INITIALIZED" in module["hint"]) is strict
    usable = next(c for c in report["checks"] if c["id"] == "certificates")
    assert usable["ok"] is True
