"""The full-screen app for screen-reader and braille users, in a real terminal (tmux): the
terminal's cursor on the focused field, monochrome under NO_COLOR with the focus still
visible, and a countdown whose text changes only when a person would say the time."""

from __future__ import annotations

import shlex
import sys
import time

import pytest

from tests.e2e.terminal import Terminal

pytestmark = pytest.mark.e2e


def demo(terminal: Terminal, *extra: str, env: str = "") -> tuple[str, str]:
    """Start `eonay demo` in English; its code and PIN, from its banner."""
    line = shlex.join([sys.executable, "-m", "tui", "demo", "--lang", "en", *extra])
    terminal.type(f"{env} {line}; echo EXIT=$?".strip())
    terminal.send("Enter")
    banner = terminal.wait_for_match(r"DEMO · Verification code: (\d{14}) · PIN: (\d+)", 30)
    return banner.group(1), banner.group(2)


def cursor(terminal: Terminal) -> tuple[int, int]:
    return int(terminal.flag("cursor_x")), int(terminal.flag("cursor_y"))


def wait_for_cursor_on(terminal: Terminal, text: str, after: int = 0) -> tuple[int, int]:
    """Until the terminal's cursor is `after` cells past where `text` starts on the screen."""
    deadline = time.monotonic() + 20
    while True:
        rows = terminal.rows()
        at = cursor(terminal)
        found = [(row.index(text) + after, y) for y, row in enumerate(rows) if text in row]
        if at in found:
            return at
        if time.monotonic() > deadline:
            shown = "\n".join(rows)
            raise AssertionError(f"the cursor is at {at}, not on {text!r} ({found}):\n{shown}")
        time.sleep(0.1)


def test_the_terminal_cursor_is_on_the_focused_field_on_every_screen(terminal):
    """Where a braille display (or a screen reader's review cursor) that follows it reads:
    on each screen as soon as it is drawn, before any key, and at the digit typed next."""
    code, pin = demo(terminal)
    wait_for_cursor_on(terminal, "14 digits")  # the empty code field's first cell
    terminal.type(code[:3])
    x, y = wait_for_cursor_on(terminal, code[:3], after=3)
    assert terminal.rows()[y].index(code[:3]) == x - 3
    terminal.type(code[3:])
    terminal.send("Enter")
    terminal.wait_for("Choose your certificate")
    wait_for_cursor_on(terminal, "TEVFİK EDİS")  # the highlighted certificate
    terminal.send("Enter")
    terminal.wait_for("Time left:")
    wait_for_cursor_on(terminal, "type the PIN")  # the empty PIN field
    terminal.type(pin[:2])
    wait_for_cursor_on(terminal, "**", after=2)  # after the two masks
    terminal.type(pin[2:])
    terminal.send("End", "Enter")
    terminal.wait_for("E-ONAY Operations")
    x, y = wait_for_cursor_on(terminal, " E-ONAY Operations")  # on the focused button
    terminal.send("C-q")
    terminal.wait_for("EXIT=0")
