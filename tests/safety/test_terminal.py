"""SIGTERM or SIGHUP in the middle of the flow gives the terminal back, in a real terminal.

`eonay --portal URL --module PATH` runs in a tmux pane (private socket, bash)
against the simulator on loopback and a SoftHSM card of its own. The signal
goes to the app's pid while the PIN is being typed, or while the signature is
on its way to a slow portal. Afterwards: bash did not have to clean up after a
killed job (the app handled the signal and exited), the alternate screen, mouse
and cursor are back, the pane takes commands, and `stty -a` shows canonical
mode, echo and signals on. Everything the app wrote to the terminal is
recorded and holds no PIN.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.terminal import Terminal
from tui.sim.softhsm import ProvisionedCard, demo_holders, provision_card

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture(scope="module")
def one_card(tmp_path_factory) -> ProvisionedCard:
    """A token with one qualified certificate, for the app's own process (its SOFTHSM2_CONF)."""
    return provision_card(tmp_path_factory.mktemp("signal-card"), holders=demo_holders())


@pytest.fixture
def terminal(tmp_path, one_card) -> Iterator[Terminal]:
    env = {
        **one_card.env,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    term = Terminal(tmp_path, env)
    try:
        yield term
    finally:
        term.close()


def wait_for_file(path: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} was not written")
        time.sleep(0.05)
    return path.read_text().strip()


@pytest.mark.parametrize(
    ("sig", "moment"),
    [(signal.SIGTERM, "typing the PIN"), (signal.SIGHUP, "sending the signature")],
    ids=["SIGTERM-typing-the-PIN", "SIGHUP-sending-the-signature"],
)
def test_a_signal_mid_flow_gives_the_terminal_back(terminal, sim, one_card, tmp_path, sig, moment):
    pid_file = tmp_path / "app.pid"
    output = tmp_path / "terminal-output"
    app = [sys.executable, "-m", "tui", "--portal", sim.url, "--module", one_card.module_path]
    app += ["--lang", "en", "--log-level", "DEBUG"]
    # The shell becomes the app (exec), so the pid written is the app's.
    line = f"echo $$ > {shlex.quote(str(pid_file))}; exec {shlex.join(app)}"
    terminal.record(output)
    terminal.type(f"sh -c {shlex.quote(line)}; echo EXIT=$?")
    terminal.send("Enter")

    record = sim.new_login()
    terminal.wait_for("Verification code")
    terminal.type(record.code)
    terminal.send("Enter")
    terminal.wait_for("Press Enter to use the selected certificate")
    terminal.send("Enter")
    terminal.wait_for("Text to sign")
    if moment == "typing the PIN":
        terminal.type(one_card.pin[:3])
        terminal.wait_for("***")
    else:
        sim.faults.latency = 2.0  # the portal takes its time with the signature
        terminal.type(one_card.pin)
        terminal.send("Enter")
        terminal.wait_for("Sending the signature")
    assert terminal.flag("alternate_on") == "1"

    os.kill(int(wait_for_file(pid_file)), sig)
    shown = terminal.wait_for(f"EXIT={128 + sig}", timeout=20)
    terminal.record(None)
    sim.faults.latency = 0.0
    assert "Terminated" not in shown and "Hangup" not in shown  # not killed: it exited itself
    assert terminal.flag("alternate_on") == "0"
    assert terminal.flag("cursor_flag") == "1"
    assert terminal.flag("mouse_any_flag") == "0"

    terminal.type("echo ok-$RANDOM")
    terminal.send("Enter")
    terminal.wait_for_match(r"(?m)^ok-\d+\s*$")  # the output, not the typed line
    terminal.type('stty -a; echo STTY""DONE')
    terminal.send("Enter")
    settings = terminal.wait_for("STTYDONE").split()
    for wanted in ("icanon", "echo", "isig", "icrnl", "opost"):
        assert wanted in settings, f"{wanted} is off after {sig.name}"

    written = output.read_bytes()
    assert b"\x1b[?1049h" in written  # the recording did see the app's screen
    assert one_card.pin.encode() not in written
    log = tmp_path / "state" / "eonay" / "eonay.log"
    assert log.exists() and one_card.pin not in log.read_text()
    assert re.search(r"DEBUG", log.read_text())
