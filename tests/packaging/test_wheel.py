"""The built wheel, installed in a fresh venv, runs on its own.

A fresh venv without --system-site-packages: a dependency missing from
pyproject.toml, or a style or catalog file missing from the wheel, fails
here and not on a user's machine. Commands run from an empty directory so
the checkout cannot stand in for the installed package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import tui

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


class Installed:
    def __init__(self, wheel: Path, venv: Path, cwd: Path, env: dict[str, str]) -> None:
        self.wheel = wheel
        self.venv = venv
        self.cwd = cwd
        self.env = env

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    built = time.monotonic()
    wheels = list(dist.glob("eonay-*.whl"))
    assert len(wheels) == 1, wheels
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # pip fetches the dependencies from the index (its cache keeps this quick)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheels[0])],
        check=True,
        capture_output=True,
    )
    print(
        f"\nwheel built in {built - started:.1f} s, "
        f"venv with dependencies in {time.monotonic() - built:.1f} s"
    )
    cwd = base / "elsewhere"
    cwd.mkdir()
    home = base / "home"
    home.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
    }
    return Installed(wheels[0], venv, cwd, env)


def test_the_venv_is_fresh(installed: Installed) -> None:
    cfg = (installed.venv / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg
    out = installed.run(str(installed.python), "-c", "import tui; print(tui.__file__)")
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).is_relative_to(installed.venv), out.stdout


def test_the_wheel_holds_the_styles_and_the_catalogs(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    styles = [n for n in names if n.startswith("tui/styles/") and n.endswith(".tcss")]
    sources = sorted(p.name for p in (ROOT / "styles").glob("*.tcss"))
    assert sorted(Path(n).name for n in styles) == sources
    for lang in ("tr", "en"):
        po = ROOT / "tui" / "i18n" / "locale" / lang / "LC_MESSAGES" / "eonay.po"
        if po.exists():
            assert f"tui/i18n/locale/{lang}/LC_MESSAGES/eonay.mo" in names


def test_version(installed: Installed) -> None:
    out = installed.run("eonay", "--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"eonay {tui.__version__}"


def test_doctor_json(installed: Installed) -> None:
    out = installed.run("eonay", "doctor", "--json", "--module", "/nonexistent/libakisp11.so")
    assert out.returncode == 1, out.stdout + out.stderr  # the module does not exist
    report = json.loads(out.stdout)
    assert report["schema"] == 1
    assert report["ok"] is False
    for check in report["checks"]:
        assert set(check) == {"id", "ok", "status", "title", "detail", "hint", "subject"}
    packages = {c["subject"]: c for c in report["checks"] if c["id"] == "package"}
    assert set(packages) == {"eonay", "textual", "PyKCS11", "cryptography", "asn1crypto", "httpx"}
    # every dependency is declared: each imports in the fresh venv
    assert all(c["ok"] for c in packages.values()), packages
    assert packages["eonay"]["title"] == f"eonay {tui.__version__}"
    modules = [c for c in report["checks"] if c["id"] == "module"]
    assert modules and modules[0]["subject"] == "/nonexistent/libakisp11.so"
    assert modules[0]["ok"] is False


FIRST_SCREEN = r"""
import asyncio
import sys
from pathlib import Path

import tui
from textual.widgets import Static

from tui.app import EonayApp
from tui.core.clock import SystemClock
from tui.core.settings import Settings
from tui.operations import ServiceFactories
from tui.screens.code_entry import CodeEntryScreen


def card():
    from tui.core.card.pkcs11_card import Pkcs11Card
    return Pkcs11Card([])


def portal():
    from tui.core.portal.client import PortalClient
    return PortalClient("http://127.0.0.1:9/")


async def main() -> None:
    installed = Path(tui.__file__).resolve().parent
    services = ServiceFactories(card=card, portal=portal, clock=SystemClock())
    app = EonayApp(services, Settings(language="tr"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, CodeEntryScreen), app.screen
        texts = [str(widget.render()) for widget in app.screen.query(Static)]
        assert any("Doğrulama Kodu" in text for text in texts), texts
        sheets = [Path(path) for path, _ in app.stylesheet.source if path.endswith(".tcss")]
        assert sheets, "no stylesheet loaded"
        for sheet in sheets:
            assert sheet.resolve().is_relative_to(installed), sheet
            assert app.stylesheet.source[(str(sheet), "")].content == sheet.read_text()
        names = sorted(sheet.name for sheet in sheets)
        print("OK", installed, " ".join(names))


asyncio.run(main())
"""


def test_first_screen_from_the_installed_wheel(installed: Installed) -> None:
    """Code entry, in Turkish, styled by the CSS inside the installed package."""
    script = installed.cwd / "first_screen.py"
    script.write_text(FIRST_SCREEN)
    out = installed.run(str(installed.python), str(script))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("OK "), out.stdout
    _, where, *sheets = out.stdout.split()
    assert Path(where).is_relative_to(installed.venv)
    assert "code_entry.tcss" in sheets and "app.tcss" in sheets


def test_the_base_install_brings_no_web_server(installed: Installed) -> None:
    """Starlette and uvicorn serve only the simulator: they come with `eonay[sim]` alone."""
    for name in ("starlette", "uvicorn"):
        out = installed.run(str(installed.python), "-c", f"import {name}")
        assert out.returncode != 0, f"{name} is installed by a plain `pip install eonay`"
    for argv in (("demo", "--lang", "en"), ("portal-sim",)):
        out = installed.run("eonay", *argv)
        assert out.returncode == 2, out.stdout + out.stderr
        assert "pip install 'eonay[sim]'" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
