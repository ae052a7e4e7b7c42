"""The app in a real terminal (tmux): the whole guide by keystrokes, and signals."""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import openssl_verify

pytestmark = pytest.mark.e2e


def eonay_command(portal_url: str, module: str, *extra: str, pid_file: Path | None = None) -> str:
    app = [sys.executable, "-m", "tui", "--portal", portal_url, "--module", module, *extra]
    line = shlex.join(app)
    if pid_file is not None:  # the shell becomes the app, so its pid is the app's
        line = f"sh -c {shlex.quote(f'echo $$ > {shlex.quote(str(pid_file))}; exec {line}')}"
    return f"{line}; echo EXIT=$?"


def test_the_whole_guide_in_a_terminal(terminal, portal, demo_card, tmp_path):
    record = portal.new_login()
    command = eonay_command(
        portal.url, demo_card.module_path, "--lang", "tr", "--log-level", "DEBUG"
    )
    terminal.type(command)
    terminal.send("Enter")

    terminal.wait_for("Doğrulama Kodu")
    terminal.type(record.code)
    terminal.wait_for("14/14 hane")
    terminal.send("Enter")

    terminal.wait_for("Sertifika Seçiniz")
    terminal.wait_for("TEVFİK EDİS")
    terminal.send("Enter")

    terminal.wait_for("İmzalanacak Metin")
    # While nobody types, only the countdown's digits are written to the terminal.
    # The first paint is over once the countdown has moved on from its first value.
    first = terminal.wait_for_match(r"Kalan süre: (\d+:\d\d)").group(1)
    terminal.wait_for_match(rf"Kalan süre: (?!{first}\b)\d+:\d\d")
    output = tmp_path / "idle.out"
    terminal.record(output)
    started = time.monotonic()
    while True:  # at least 2.2 s, and until two countdown steps were written
        time.sleep(0.1)
        elapsed = time.monotonic() - started
        written = output.read_bytes().decode() if output.exists() else ""
        visible = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", written)  # drop cursor moves, colours
        if (elapsed >= 2.2 and len(set(re.findall(r"\d+", visible))) >= 2) or elapsed > 20:
            break
    terminal.record(None)
    written = output.read_bytes().decode()
    visible = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", written)
    assert re.fullmatch(r"[ 0-9:]+", visible), repr(written)
    assert len(set(re.findall(r"\d+", visible))) >= 2  # it did count down meanwhile
    # a few dozen bytes a second (a blinking cursor costs ~2 KB/s)
    assert len(written) < 180 * elapsed, (len(written), elapsed)
    terminal.type(demo_card.pin)
    shown = terminal.wait_for("*" * len(demo_card.pin))
    assert demo_card.pin not in shown
    terminal.send("Enter")

    terminal.wait_for("E-ONAY İşlemleri")
    terminal.send("Enter")
    terminal.wait_for("Devam Et")
    terminal.send("Enter")

    terminal.wait_for("İmza: E-Onay")
    terminal.type(demo_card.pin)
    terminal.wait_for("*" * len(demo_card.pin))
    terminal.send("Enter")  # the E-Onay text is longer than its box at 80x24: the rest first
    terminal.wait_for("Metnin sonu bu: Enter ile imzalayın.")
    assert [r.purpose for r in portal.state.answered()] == ["login"]
    terminal.send("Enter")

    done = terminal.wait_for("E-Onay'ınız artık etkin.")
    [holder] = portal.state.holders()
    assert holder.e_onay_active and holder.reference
    assert holder.reference in done
    answered = portal.state.answered()
    assert [r.purpose for r in answered] == ["login", "e-onay"]
    assert answered[0].code == record.code
    for r in answered:
        assert r.answer["status"] == "accepted"
        assert openssl_verify(r.answer_cms, demo_card.root_pem, workdir=tmp_path) == r.text.encode()

    terminal.send("Enter")  # Bitir
    terminal.wait_for("EXIT=0")
    assert terminal.flag("alternate_on") == "0"
    log = (tmp_path / "state" / "eonay" / "eonay.log").read_text()
    assert " DEBUG " in log  # the handler came after the first screen, and logged the session
    assert demo_card.pin not in log


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_ends_the_app_and_gives_the_terminal_back(
    terminal, portal, demo_card, tmp_path, sig, code
):
    pid_file = tmp_path / "app.pid"
    terminal.type(
        eonay_command(portal.url, demo_card.module_path, "--lang", "en", pid_file=pid_file)
    )
    terminal.send("Enter")
    terminal.wait_for("Verification code")
    terminal.type("1234")
    terminal.wait_for("4/14 digits")
    assert terminal.flag("alternate_on") == "1"

    os.kill(int(pid_file.read_text()), sig)
    terminal.wait_for(f"EXIT={code}")
    assert terminal.flag("alternate_on") == "0"
    assert terminal.flag("cursor_flag") == "1"
    assert terminal.flag("mouse_any_flag") == "0"
    terminal.type('stty -a; echo AL""IVE')  # the typed line does not contain ALIVE
    terminal.send("Enter")
    settings = terminal.wait_for("ALIVE")
    words = settings.split()
    for wanted in ("icanon", "echo", "isig", "icrnl", "opost"):
        assert wanted in words, f"{wanted} is off after the signal:\n{settings}"


def the_app_and_its_card_process(term) -> tuple[psutil.Process, psutil.Process]:
    """The demo's app process and its card process: the driver is loaded there, not in the app."""
    running = term.processes()
    [app] = [p for p in running if p.cmdline()[1:4] == ["-m", "tui", "demo"]]
    [card] = [p for p in running if "tui.core.card.process" in p.cmdline()]
    assert card.ppid() == app.pid
    if os.geteuid() == 0:  # only root may read the maps of processes that are not dumpable
        assert not [m.path for m in app.memory_maps() if "softhsm" in m.path or "PyKCS11" in m.path]
        assert [m.path for m in card.memory_maps() if "softhsm" in m.path]
    return app, card


def test_eonay_demo_runs_the_guide_and_leaves_nothing_behind(tmp_path):
    from tests.e2e.terminal import Terminal

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    term = Terminal(tmp_path, {"TMPDIR": str(scratch), "XDG_STATE_HOME": str(tmp_path / "s")})
    try:
        term.type(
            f"{shlex.join([sys.executable, '-m', 'tui', 'demo', '--lang', 'en'])}; echo EXIT=$?"
        )
        term.send("Enter")
        banner = term.wait_for_match(r"DEMO · Verification code: (\d{14}) · PIN: (\d+)", 30)
        code, pin = banner.group(1), banner.group(2)
        term.type(code)
        term.send("Enter")
        term.wait_for("TEVFİK EDİS")
        term.send("Enter")
        term.wait_for("Sign: E-imzalı Giriş")  # the PIN screen (the time shows from step 2)
        app, card = the_app_and_its_card_process(term)
        term.type(pin)
        term.send("Enter")
        term.wait_for("E-ONAY Operations")
        term.send("Enter")
        term.wait_for("Continue")
        term.send("Enter")
        term.wait_for("Sign: E-Onay")
        term.type(pin)
        term.send("End")  # the whole text on the screen first, then Enter signs
        term.send("Enter")
        done = term.wait_for("Your E-Onay is now active.")
        assert "EONAY-" in done
        term.send("Enter")
        term.wait_for("EXIT=0")  # the demo cleans up before it exits: no need to wait
        assert list(scratch.iterdir()) == []  # the card, its config and the log are gone
        assert not app.is_running() and not card.is_running()
    finally:
        term.close()


def test_the_plain_linux_console_without_colour(terminal, portal, demo_card):
    line = eonay_command(portal.url, demo_card.module_path, "--lang", "tr")
    terminal.type(f"TERM=linux NO_COLOR=1 {line}")
    terminal.send("Enter")
    shown = terminal.wait_for("0/14 hane")
    assert "Doğrulama Kodu" in shown and "Enter Devam Et" in shown
    codes = terminal.screen(escapes=True)
    assert "38;5;" not in codes and "38;2;" not in codes  # no 256 or true colours on TERM=linux
    terminal.send("C-q")
    terminal.wait_for("EXIT=0")


@pytest.mark.parametrize("kiosk", [False, True])
def test_the_app_ends_when_its_terminal_goes_away(terminal, portal, demo_card, tmp_path, kiosk):
    """An SSH link that drops hangs up the terminal: no eonay may linger holding the card."""
    import psutil

    pid_file = tmp_path / "app.pid"
    extra = ["--lang", "en", *(["--kiosk"] if kiosk else [])]
    terminal.type(eonay_command(portal.url, demo_card.module_path, *extra, pid_file=pid_file))
    terminal.send("Enter")
    terminal.wait_for("Verification code")
    terminal.type("1234")
    terminal.wait_for("4/14 digits")
    app = psutil.Process(int(pid_file.read_text()))
    if kiosk:  # keys that a kiosk ignores must not leave it unable to end later
        terminal.send("C-c", "C-z", "C-\\", "C-q")
        terminal.wait_for("4/14 digits")

    terminal.hang_up()
    try:
        app.wait(timeout=20)
    except psutil.TimeoutExpired:
        app.kill()
        pytest.fail("eonay was still running 20 s after its terminal went away")
