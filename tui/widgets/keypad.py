"""The on-screen keypad of the guide's e-imza app: 1-9, 0, Temizle and ←.

Its keys take no focus, so the keyboard stays in the PIN field; the mouse
presses them. The digit order is a parameter, so a shuffled keypad (kiosk
mode, against shoulder surfing) is only a different argument.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Button

from tui.i18n import _

CLEAR = "clear"
BACKSPACE = "backspace"
STANDARD_ORDER = "1234567890"


def shuffled_order(randbelow: Callable[[int], int] | None = None) -> str:
    """The ten digits in a random order (Fisher-Yates), for a keypad against shoulder surfing.

    `randbelow(n)` gives a number in [0, n); by default `secrets.randbelow`, so
    someone who watched earlier keypads cannot predict the next. Tests pass their own.
    """
    randbelow = randbelow or secrets.randbelow
    digits = list(STANDARD_ORDER)
    for i in range(len(digits) - 1, 0, -1):
        j = randbelow(i + 1)
        digits[i], digits[j] = digits[j], digits[i]
    return "".join(digits)


class KeypadButton(Button, can_focus=False):
    """A keypad key: pressed with the mouse, never focused; no padding, so "Temizle" fits."""

    def on_mount(self) -> None:
        self.styles.line_pad = 0  # (Textual's CSS parser refuses `line-pad: 0`)


class Keypad(Grid):
    """Three columns: the digits 1-9, then Temizle, 0, ←."""

    class Pressed(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key  # a digit, CLEAR or BACKSPACE

    def __init__(self, order: Sequence[str] = STANDARD_ORDER, *, id: str | None = None) -> None:
        super().__init__(id=id)
        if sorted(order) != sorted(STANDARD_ORDER):
            raise ValueError("the keypad needs each digit exactly once")
        self.order = tuple(order)

    def compose(self) -> ComposeResult:
        for digit in self.order[:9]:
            yield KeypadButton(digit, name=digit, compact=True, classes="digit")
        yield KeypadButton(_("Clear"), name=CLEAR, compact=True, classes="clear")
        yield KeypadButton(self.order[9], name=self.order[9], compact=True, classes="digit")
        yield KeypadButton("←", name=BACKSPACE, compact=True, classes="backspace")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.name:
            self.post_message(self.Pressed(event.button.name))
