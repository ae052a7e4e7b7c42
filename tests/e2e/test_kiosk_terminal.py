"""Kiosk mode in a real terminal (tmux): the keys that end or stop a program do nothing."""

from __future__ import annotations

import os
import signal

import pytest

from tests.e2e.terminal import Terminal
from tests.e2e.test_terminal import eonay_command

pytestmark = pytest.mark.e2e

# ctrl+c, ctrl+q, ctrl+z (suspend), ctrl+\ (SIGQUIT), ctrl+p (palette), ctrl+d, F10.
WAYS_OUT = ("C-c", "C-q", "C-z", "C-\\", "C-p", "C-d", "F10")


@pytest.mark.parametrize("how", ["--kiosk", "EONAY_KIOSK"])
def test_no_key_leaves_the_kiosk(tmp_path, portal, demo_card, how):
    # TEXTUAL_ALLOW_SIGNALS would let ctrl+c, ctrl+z and ctrl+\ reach the app as signals.
    env = {
        **demo_card.env,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TEXTUAL_ALLOW_SIGNALS": "1",
    }
    if how == "EONAY_KIOSK":
        env["EONAY_KIOSK"] = "true"
    flags = ("--kiosk",) if how == "--kiosk" else ()
    pid_file = tmp_path / "app.pid"
    terminal = Terminal(tmp_path, env)
    try:
        line = eonay_command(
            portal.url, demo_card.module_path, "--lang", "en", *flags, pid_file=pid_file
        )
        terminal.type(line)
        terminal.send("Enter")
        shown = terminal.wait_for("0/14 digits")
        assert "Quit" not in shown and "Ctrl+Q" not in shown  # the footer offers no way out

        for key in WAYS_OUT:
            terminal.send(key)
        terminal.type("12")  # typed after the keys: shown only if the app is still reading
        shown = terminal.wait_for("2/14 digits")
        assert "Verification code" in shown and "EXIT=" not in shown
        assert terminal.flag("alternate_on") == "1"
        assert "palette" not in shown.lower()

        # The kiosk's owner ends it with a signal; the terminal comes back as usual.
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
        terminal.wait_for(f"EXIT={128 + signal.SIGTERM}")
        assert terminal.flag("alternate_on") == "0"
    finally:
        terminal.close()


@pytest.mark.parametrize("kiosk", [True, False])
def test_a_kiosk_puts_nothing_on_the_terminals_clipboard(tmp_path, portal, demo_card, kiosk):
    """A mouse drag, a double click and ctrl+c: in a kiosk no OSC 52 reaches tmux's clipboard."""
    terminal = Terminal(tmp_path, {**demo_card.env, "XDG_STATE_HOME": str(tmp_path / "state")})
    try:
        terminal.allow_clipboard()
        flags = ("--kiosk",) if kiosk else ()
        terminal.type(eonay_command(portal.url, demo_card.module_path, "--lang", "en", *flags))
        terminal.send("Enter")
        lines = terminal.wait_for("0/14 digits").splitlines()
        words = "Enter the 14-digit"
        y = next(i for i, line in enumerate(lines) if words in line)
        x = lines[y].index(words)
        terminal.drag((x, y), (x + len(words) - 1, y))
        terminal.send("C-c")
        click = f"\x1b[<0;{x + 3};{y + 1}M\x1b[<0;{x + 3};{y + 1}m"  # SGR: 1-based cells
        terminal.send_bytes(click * 2)  # a double click selects a word
        terminal.send("C-c")
        terminal.type("12")  # after the mouse and ctrl+c: once shown, those were read too
        terminal.wait_for("2/14 digits")
        buffers = terminal.paste_buffers()
        if kiosk:
            assert buffers == ""
        else:  # the same gestures copy outside a kiosk: the check can see a copy
            assert words[:10] in buffers
    finally:
        terminal.close()
