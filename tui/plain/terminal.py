"""Lines out, lines in, and a PIN read with echo off into a `Pin`.

Everything written is a whole line, except a prompt (a line ending in ": ",
waiting for Enter). While a prompt waits, a `Ticker` may need to say something
(the time left) or end the wait (time is over, the card is gone): the prompt's
line is ended, the ticker speaks on lines of its own, and the prompt is written
again. Reading uses select() on the input with the ticker's timeout, so there
is no second thread writing to the terminal.

The PIN never exists as a str or a bytes object: the terminal is put in
no-echo, non-canonical mode and read one byte at a time with `os.readv` into
one scratch byte, which goes into the `Pin` as a digit and is zeroed at once.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TextIO

from tui.core.pin import Pin

ENTER = frozenset(b"\r\n")
ERASE = frozenset(b"\x7f\x08")
KILL_LINE = 0x15  # Ctrl+U
END_OF_INPUT = 0x04  # Ctrl+D
ESCAPE = 0x1B
DIGITS = frozenset(b"0123456789")


class Closed(Exception):
    """The input ended (Ctrl+D, the other end went away): the person left."""


@dataclass(frozen=True)
class Interrupted:
    """The ticker ended the wait; `reason` is what it said ended it."""

    reason: object


class Ticker(Protocol):
    def due_in(self) -> float:
        """Seconds until `tick` should run (0: now)."""
        ...

    def tick(self) -> object | None:
        """Say what is due; anything but None ends the wait with that reason."""
        ...


class LineTerminal:
    """The person's terminal, as lines: `say`, `ask`, `ask_pin`."""

    def __init__(self, fd: int | None = None, out: TextIO | None = None) -> None:
        self.fd = sys.stdin.fileno() if fd is None else fd
        self.out = sys.stdout if out is None else out
        self._prompt: str | None = None  # the prompt waiting now, written again after a tick
        self._broken = False  # something was said since the prompt was written

    # --- out --------------------------------------------------------------

    def say(self, *lines: str) -> None:
        """Each line as a line; a waiting prompt's line is ended first."""
        if self._prompt is not None and not self._broken:
            self.out.write("\n")
            self._broken = True
        for line in lines:
            self.out.write(line + "\n")
        self.out.flush()

    def _show_prompt(self) -> None:
        assert self._prompt is not None
        self._broken = False
        self.out.write(self._prompt)
        self.out.flush()

    # --- in ---------------------------------------------------------------

    def ask(self, prompt: str, ticker: Ticker | None = None) -> str | Interrupted:
        """One line, without its end; Closed at the end of input.

        Read a byte at a time, never past the line's end: what follows (a PIN,
        from a pipe) stays in the kernel for `ask_pin` to read its own way.
        """
        with self._prompting(prompt):
            line = bytearray()
            while True:
                stop = self._wait(ticker)
                if stop is not None:
                    return stop
                byte = os.read(self.fd, 1)
                if not byte:
                    if line:
                        return line.decode("utf-8", "replace")
                    raise Closed
                if byte == b"\n":
                    return line.decode("utf-8", "replace").rstrip("\r")
                line += byte

    def ask_pin(
        self,
        prompt: str,
        pin: Pin,
        on_empty: Callable[[], None],
        ticker: Ticker | None = None,
    ) -> Interrupted | None:
        """Fill `pin` from the keyboard, echo off; None when Enter ended a non-empty PIN.

        Enter on an empty PIN calls `on_empty` and asks again. Backspace takes one
        digit back, Ctrl+U all of them; other keys are ignored. The PIN is wiped on
        every way out but a PIN entered.
        """
        one = bytearray(1)
        done = False
        try:
            # Echo off before the prompt is written: a PIN typed the moment it shows is not echoed.
            with self._no_echo(), self._prompting(prompt):
                skipping = False  # inside an escape sequence (an arrow key, F-keys)
                while True:
                    stop = self._wait(ticker)
                    if stop is not None:
                        return stop
                    if os.readv(self.fd, [one]) == 0:
                        raise Closed
                    byte, one[0] = one[0], 0
                    if skipping:
                        skipping = not (0x40 <= byte <= 0x7E and byte != ord("["))
                    elif byte == ESCAPE:
                        skipping = True
                    elif byte in ENTER:
                        if len(pin):
                            done = True
                            return None
                        self.out.write("\n")  # Enter was not echoed
                        self._prompt_off()
                        on_empty()
                        self._prompt_on(prompt)
                    elif byte in ERASE:
                        pin.pop()
                    elif byte == KILL_LINE:
                        pin.wipe()
                    elif byte == END_OF_INPUT and not len(pin):
                        raise Closed
                    elif byte in DIGITS and len(pin) < pin.capacity:
                        pin.append_byte(byte)  # the byte as it came: never a str
        finally:
            one[0] = 0
            if not done:
                pin.wipe()
            else:
                self.out.write("\n")  # Enter was not echoed
                self.out.flush()

    # --- helpers ----------------------------------------------------------

    @contextlib.contextmanager
    def _prompting(self, prompt: str) -> Iterator[None]:
        self._prompt_on(prompt)
        try:
            yield
        finally:
            self._prompt_off()

    def _prompt_on(self, prompt: str) -> None:
        self._prompt = prompt
        self._show_prompt()

    def _prompt_off(self) -> None:
        self._prompt = None

    def _wait(self, ticker: Ticker | None) -> Interrupted | None:
        """Until input is there to read; a ticker's news on its own lines meanwhile."""
        while True:
            timeout = None if ticker is None else max(0.0, ticker.due_in())
            ready, _w, _x = select.select([self.fd], [], [], timeout)
            if ready:
                return None
            assert ticker is not None
            reason = ticker.tick()
            if reason is not None:
                return Interrupted(reason)
            if self._broken:
                self._show_prompt()

    @contextlib.contextmanager
    def _no_echo(self) -> Iterator[None]:
        """Echo and line editing off while the PIN is typed; the terminal as it was after."""
        if not os.isatty(self.fd):
            yield
            return
        import termios

        saved = termios.tcgetattr(self.fd)
        quiet = termios.tcgetattr(self.fd)
        quiet[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON)
        quiet[6][termios.VMIN] = 1
        quiet[6][termios.VTIME] = 0
        termios.tcsetattr(self.fd, termios.TCSANOW, quiet)  # NOW: typed-ahead keys are kept
        try:
            yield
        finally:
            termios.tcsetattr(self.fd, termios.TCSANOW, saved)
