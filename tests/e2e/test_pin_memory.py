"""No copy of the PIN in any eonay process: the app in a real terminal, the real token.

The PIN is typed one key at a time (each key in its own read of the
terminal), as a person types. Afterwards every readable mapping of the app
and of every process below it is searched for the PIN in ASCII, UTF-16 and
UTF-32, both byte orders (`tests.e2e.memory`). The control test plants the
PIN in a child process and the same search has to find it there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e import memory
from tests.e2e.terminal import Terminal
from tests.e2e.test_terminal import eonay_command
from tui.sim.state import E_ONAY_TEXT

pytestmark = [pytest.mark.e2e, pytest.mark.softhsm]

WRONG_PIN = "582604"  # not the card's PIN, and found in no code, serial or label


def _start(terminal: Terminal, portal_url: str, module: str, tmp_path: Path, *extra: str) -> int:
    pid_file = tmp_path / "app.pid"
    terminal.type(eonay_command(portal_url, module, "--lang", "en", *extra, pid_file=pid_file))
    terminal.send("Enter")
    terminal.wait_for("0/14 digits")
    return int(pid_file.read_text())


def _type_one_at_a_time(terminal: Terminal, digits: str, already: int = 0) -> None:
    """Each digit sent alone, and drawn before the next: never two keys in one read."""
    for count, digit in enumerate(digits, start=already + 1):
        terminal.send(digit)
        terminal.wait_for("*" * count)


def _to_pin_screen(terminal: Terminal, code: str) -> None:
    terminal.type(code)
    terminal.wait_for("14/14 digits")
    terminal.send("Enter")
    terminal.wait_for("TEVFİK EDİS")
    terminal.send("Enter")
    terminal.wait_for("Text to sign")


def _assert_nowhere(pid: int, *secrets: str) -> None:
    if not memory.readable(pid):
        pytest.fail(f"cannot read /proc/{pid}/mem: the test needs root or CAP_SYS_PTRACE")
    processes = memory.tree(pid)
    found = [hit for secret in secrets for hit in memory.search_tree(pid, secret)]
    assert found == [], "\n".join(str(hit) for hit in found)
    assert processes  # the app itself was searched, and every process below it


def test_the_search_finds_a_pin_planted_in_a_child_process(tmp_path, demo_card):
    """The control: a process whose child holds the PIN in every encoding; the search over
    the parent's tree finds each one, in the child (so a copy in the app would be found)."""
    child = (
        "import sys\n"
        "pin = sys.stdin.readline().strip()\n"
        "held = [pin.encode(e) for e in "
        "('ascii', 'utf-16-le', 'utf-16-be', 'utf-32-le', 'utf-32-be')]\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    parent = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen([sys.executable, '-c', {child!r}])\n"
        "child.wait()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", parent], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(demo_card.pin + "\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "ready"
        found = memory.search_tree(process.pid, demo_card.pin)
        children = {p.pid for p in memory.tree(process.pid)} - {process.pid}
        assert len(children) == 1
        assert {hit.form for hit in found if hit.pid in children} == set(
            memory.encodings(demo_card.pin)
        )
    finally:
        process.kill()
        process.wait()


def test_no_copy_of_the_pin_after_both_signatures_and_a_wrong_pin(
    terminal, portal, demo_card, tmp_path
):
    record = portal.new_login()
    pid = _start(terminal, portal.url, demo_card.module_path, tmp_path)
    _to_pin_screen(terminal, record.code)

    _type_one_at_a_time(terminal, WRONG_PIN)
    terminal.send("Enter")
    terminal.wait_for("Wrong PIN")
    _assert_nowhere(pid, WRONG_PIN)

    _type_one_at_a_time(terminal, demo_card.pin)
    # Typed and not yet sent: the search sees it in the app, in the PIN field's buffer.
    held = memory.search_process(pid, demo_card.pin)
    assert [hit.form for hit in held] == ["ascii"], [str(hit) for hit in held]
    terminal.send("Enter")
    terminal.wait_for("E-ONAY Operations")
    terminal.send("Enter")
    terminal.wait_for("Continue")
    terminal.send("Enter")
    terminal.wait_for("Sign: E-Onay")
    _type_one_at_a_time(terminal, demo_card.pin)
    terminal.send("End")  # the E-Onay text is longer than its box: its end is seen first
    terminal.wait_for("işlemini onaylıyorum.")
    terminal.send("Enter")
    terminal.wait_for("Your E-Onay is now active.")

    _assert_nowhere(pid, demo_card.pin, WRONG_PIN)


def test_no_copy_of_the_pin_after_a_kiosk_reset(terminal, portal, demo_card, tmp_path):
    """One person signs in, starts E-Onay, types most of the PIN and walks away: the idle
    reset leaves neither the PIN of the login nor the digits typed for E-Onay."""
    config = tmp_path / "kiosk.toml"
    config.write_text(  # kiosk mode signs only allowlisted texts: the simulator's E-Onay text
        "[kiosk]\nenabled = true\nidle_seconds = 10\n"
        f"[text.allowlist]\ne-onay = [{json.dumps(E_ONAY_TEXT)}]\n",
        encoding="utf-8",
    )
    record = portal.new_login()
    pid = _start(terminal, portal.url, demo_card.module_path, tmp_path, "--config", str(config))
    _to_pin_screen(terminal, record.code)
    _type_one_at_a_time(terminal, demo_card.pin)
    terminal.send("Enter")
    terminal.wait_for("E-ONAY Operations")
    terminal.send("Enter")
    terminal.wait_for("Continue")
    terminal.send("Enter")
    terminal.wait_for("Sign: E-Onay")
    typed = demo_card.pin[:-1]
    _type_one_at_a_time(terminal, typed)
    started = time.monotonic()
    terminal.wait_for("Nobody used the app for a while", timeout=40)
    assert time.monotonic() - started >= 9  # the reset came from idleness
    terminal.wait_for("0/14 digits")
    _assert_nowhere(pid, typed)  # the login's PIN starts with these digits too


def _wait_for_prompt(terminal: Terminal, prompt: str) -> None:
    """Until the last line written is `prompt` (plain mode: a prompt waits at the bottom)."""
    terminal.wait_until(lambda rows: [r for r in rows if r.strip()][-1] == prompt.rstrip())


def _type_unseen(terminal: Terminal, digits: str) -> None:
    """Each digit alone, read before the next (echo is off: nothing shows to wait for)."""
    for digit in digits:
        terminal.send(digit)
        terminal.wait_until_read()


def test_no_copy_of_the_pin_in_plain_mode(terminal, portal, demo_card, tmp_path):
    """`eonay --plain` reads the PIN a byte at a time into the Pin, never a str: after a
    wrong PIN and the login's signature, neither is anywhere in its processes."""
    pid_file = tmp_path / "app.pid"
    command = eonay_command(
        portal.url, demo_card.module_path, "--lang", "en", "--plain", pid_file=pid_file
    )
    terminal.type(command)
    terminal.send("Enter")
    _wait_for_prompt(terminal, "Verification code: ")
    pid = int(pid_file.read_text())
    terminal.type(portal.new_login().code)
    terminal.send("Enter")
    _wait_for_prompt(terminal, "Certificate number (Enter: 1): ")
    terminal.send("Enter")
    _wait_for_prompt(terminal, "PIN: ")
    _type_unseen(terminal, WRONG_PIN)
    terminal.send("Enter")
    terminal.wait_for("Wrong PIN.")
    _wait_for_prompt(terminal, "PIN: ")
    _assert_nowhere(pid, WRONG_PIN)
    _type_unseen(terminal, demo_card.pin)
    held = memory.search_process(pid, demo_card.pin)  # typed, not yet sent: in the Pin alone
    assert [hit.form for hit in held] == ["ascii"], [str(hit) for hit in held]
    terminal.send("Enter")
    _wait_for_prompt(terminal, "E-ONAY Operations [Y/n]: ")
    _assert_nowhere(pid, demo_card.pin, WRONG_PIN)
    terminal.send("C-d")
    terminal.wait_for("EXIT=1")
