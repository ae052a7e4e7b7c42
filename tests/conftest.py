"""Shared fixtures: a real SoftHSM2 card from the test PKI, and OpenSSL checks.

- `softhsm_card` (session): a `ProvisionedCard` with `default_holders()` on two
  tokens (every key type, an expired, a not-yet-valid and an
  authentication-only certificate). Use `softhsm_card.module_path`,
  `.pin`, `.root_pem`, `.holders`, `.holder(name, key_type=...)`, `.env`.
- `card` (function): a `Pkcs11Card` over that module, closed afterwards.
- `openssl_verify(cms, root_pem)`: `openssl cms -verify -binary` must accept;
  returns the verified content. `openssl_print(cms)`: `openssl cms -cmsout -print`.

SOFTHSM2_CONF is set for the whole test process in `pytest_configure`, before
any test can call C_Initialize, to a private config whose token directory the
`softhsm_card` fixture fills on first use. SoftHSM reads its config and tokens
once per C_Initialize, so every in-process SoftHSM test must use this one card
(ask for `softhsm_card`); tests that need another card run their code in a
subprocess with that card's `env`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_SESSION_DIR: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _SESSION_DIR
    if _SESSION_DIR is None:
        _SESSION_DIR = Path(tempfile.mkdtemp(prefix="eonay-softhsm-"))
        from tui.sim.softhsm import write_conf

        os.environ["SOFTHSM2_CONF"] = str(write_conf(_SESSION_DIR))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SESSION_DIR is not None:
        shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def softhsm_card():
    """The session's SoftHSM card (provisioned once, in about a second)."""
    from tui.sim.softhsm import provision_card

    assert _SESSION_DIR is not None
    card = provision_card(_SESSION_DIR)
    assert os.environ["SOFTHSM2_CONF"] == str(card.conf_path)
    return card


@pytest.fixture
def card(softhsm_card) -> Iterator[object]:
    """A fresh `Pkcs11Card` over the session's SoftHSM module."""
    from tui.core.card.pkcs11_card import Pkcs11Card

    service = Pkcs11Card([softhsm_card.module_path])
    try:
        yield service
    finally:
        service.close()


def _as_file(cms: bytes | Path, workdir: Path) -> Path:
    if isinstance(cms, Path):
        return cms
    fd, name = tempfile.mkstemp(suffix=".p7s", dir=workdir)
    with os.fdopen(fd, "wb") as f:
        f.write(cms)
    return Path(name)


def openssl_verify(cms: bytes | Path, root_pem: Path, *, workdir: Path | None = None) -> bytes:
    """`openssl cms -verify -binary -CAfile root` must succeed; returns the content it verified."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="eonay-cms-") as scratch:
            return openssl_verify(cms, root_pem, workdir=Path(scratch))
    path = _as_file(cms, workdir)
    out = workdir / (path.name + ".out")
    proc = subprocess.run(
        [
            "openssl", "cms", "-verify", "-inform", "DER", "-binary",
            "-in", str(path), "-CAfile", str(root_pem), "-out", str(out),
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert proc.returncode == 0, f"openssl cms -verify failed: {proc.stderr}"
    return out.read_bytes()


def openssl_print(cms: bytes | Path) -> str:
    """`openssl cms -cmsout -print -inform DER`: the CMS structure as text."""
    with tempfile.TemporaryDirectory(prefix="eonay-cms-") as scratch:
        path = _as_file(cms, Path(scratch))
        proc = subprocess.run(
            ["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
    return proc.stdout


@pytest.fixture(name="openssl_verify")
def _openssl_verify_fixture(tmp_path):
    def verify(cms: bytes | Path, root_pem: Path) -> bytes:
        return openssl_verify(cms, root_pem, workdir=tmp_path)

    return verify
