"""The full-screen app for screen-reader and braille users, in a real terminal (tmux): the
terminal's cursor on the focused field, monochrome under NO_COLOR with the focus still
visible, and a countdown whose text changes only when a person would say the time."""

from __future__ import annotations

import re
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
    terminal.wait_for("Step 3/6")  # step 2 shows the time too, since issue 16
    wait_for_cursor_on(terminal, "type the PIN")  # the empty PIN field
    terminal.type(pin[:2])
    wait_for_cursor_on(terminal, "**", after=2)  # after the two masks
    terminal.type(pin[2:])
    terminal.send("End", "Enter")
    terminal.wait_for("E-ONAY Operations")
    x, y = wait_for_cursor_on(terminal, " E-ONAY Operations")  # on the focused button
    terminal.send("C-q")
    terminal.wait_for("EXIT=0")


TIME_LEFT = re.compile(r"Time left: \d+ seconds?")


def test_screen_reader_mode_writes_the_time_only_when_it_is_said(terminal, tmp_path):
    """A 25-second code, so its moments come in the test's time: from the PIN screen on,
    what the app writes to the terminal holds no time but at 10 s and at the end."""
    code, _pin = demo(terminal, "--ttl", "25", "--screen-reader")
    terminal.type(code)
    terminal.send("Enter")
    terminal.wait_for("TEVFİK EDİS")
    output = tmp_path / "pin-screen.out"
    terminal.record(output)
    terminal.send("Enter")
    terminal.wait_for("Step 3/6")  # step 2 shows the time too, since issue 16
    first = terminal.wait_for_match(r"Time left: (\d+) seconds").group(1)
    assert 10 < int(first) <= 25
    lines = [f"Time left: {first} seconds"]
    deadline = time.monotonic() + 40
    while "Time left: 0 seconds" not in lines and time.monotonic() < deadline:
        # Only the time's own words: a notice ("10 seconds left to sign.") may share its row.
        [shown] = [m.group(0) for row in terminal.rows() if (m := TIME_LEFT.search(row))]
        if shown != lines[-1]:
            lines.append(shown)
            if shown == "Time left: 10 seconds":
                at_ten = output.read_bytes().decode()
        time.sleep(0.1)
    terminal.wait_for("Nothing was signed")
    assert lines == [f"Time left: {first} seconds", "Time left: 10 seconds", "Time left: 0 seconds"]
    # Every time written from the first one said up to the 10 s one, escapes taken out: the
    # screen may be painted again as it settles, but a countdown of digits would have
    # written each second in between.
    after_first = at_ten.split(f"{first} seconds", 1)[1]
    visible = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", after_first)
    clock = r"(?<![\d:])\d+:\d\d(?![\d:])"  # 0:21, not the 12:20:05 of "Created:"
    times = re.findall(rf"{clock}|\b\d+ seconds?\b|\b\d+ minutes?\b", visible)
    assert set(times) <= {f"{first} seconds", "10 seconds"} and "10 seconds" in times
    terminal.send("C-q")
    terminal.wait_for("EXIT=0")


def colours(screen: str) -> set[tuple[int, ...]]:
    """Every colour the screen's SGR codes set: (n,) from the 256 colours, (r, g, b) for 24 bits."""
    found: set[tuple[int, ...]] = set()
    for params in re.findall(r"\x1b\[([0-9;]*)m", screen):
        codes = [int(p) for p in params.split(";") if p]
        i = 0
        while i < len(codes):
            if codes[i] in (38, 48) and codes[i + 1] == 5:
                found.add((codes[i + 2],))
                i += 3
            elif codes[i] in (38, 48) and codes[i + 1] == 2:
                found.add(tuple(codes[i + 2 : i + 5]))
                i += 5
            else:
                if 30 <= codes[i] <= 37 or 40 <= codes[i] <= 47 or 90 <= codes[i] <= 107:
                    found.add((codes[i],))
                i += 1
    return found


@pytest.mark.parametrize("no_color", [True, False])
def test_no_color_is_monochrome_with_the_focus_visible(terminal, no_color):
    code, pin = demo(terminal, env="NO_COLOR=1" if no_color else "")
    terminal.wait_for("0/14 digits")
    code_screen = terminal.screen(escapes=True)
    terminal.type(code)
    terminal.send("Enter")
    terminal.wait_for("TEVFİK EDİS")
    terminal.send("Enter")
    terminal.wait_for("Step 3/6")  # step 2 shows the time too, since issue 16
    terminal.type(pin[:2])
    terminal.wait_for("**")
    pin_screen = terminal.screen(escapes=True)
    terminal.send("C-q")
    terminal.wait_for("EXIT=0")
    used = colours(code_screen) | colours(pin_screen)
    if not no_color:  # the check can tell: colours are there without NO_COLOR
        assert len(used) > 5
        return
    assert used == set()  # not even greys: the terminal's own colours, text styles alone
    # The focus by its shape: the code field in a double box; the PIN's masks bold, underlined.
    assert "╔" in code_screen and "╔" not in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", pin_screen)
    [pin_row] = [row for row in pin_screen.splitlines() if "**" in row]
    before_masks = re.search(r"((?:\x1b\[[0-9;]*m)+)[^\x1b]*\*\*", pin_row)
    assert before_masks is not None
    codes = set(";".join(re.findall(r"\x1b\[([0-9;]*)m", before_masks.group(1))).split(";"))
    assert {"1", "4"} <= codes, repr(pin_row)
