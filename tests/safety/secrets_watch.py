"""Watching where the PIN goes: every Pin made, with its one buffer, and searches.

`WatchedPin` is the app's `Pin`, remembered: a test can check that C_Login
was handed a view of exactly that buffer (no copy on the way) and that the
buffer's whole capacity is zero afterwards.
"""

from __future__ import annotations

import io
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.console import Console
from rich.traceback import Traceback

from tui.core.pin import CAPACITY, Pin


class WatchedPin(Pin):
    """The real `Pin`, remembered with its one buffer and the most digits it held."""

    made: ClassVar[list[WatchedPin]] = []

    def __init__(self, capacity: int = CAPACITY) -> None:
        super().__init__(capacity)
        store = self.buffer().obj
        assert isinstance(store, bytearray)
        self.store = store
        self.peak = 0
        WatchedPin.made.append(self)

    def append(self, digit: str) -> None:
        super().append(digit)
        self.peak = max(self.peak, len(self))

    def append_byte(self, byte: int) -> None:
        super().append_byte(byte)
        self.peak = max(self.peak, len(self))

    @property
    def wiped(self) -> bool:
        """Empty now, and every byte of its buffer (the whole capacity) is zero."""
        return len(self) == 0 and len(self.store) == self.capacity and not any(self.store)


def watched_pin(digits: str = "") -> WatchedPin:
    pin = WatchedPin()
    for digit in digits:
        pin.append(digit)
    return pin


def held_digits() -> list[WatchedPin]:
    return [pin for pin in WatchedPin.made if pin.peak > 0]


def exception_texts(error: BaseException) -> list[str]:
    """Every way an exception can be shown: message, repr, the traceback with its chain,
    and the traceback with local variables that Textual prints when an app crashes."""
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(
        Traceback.from_exception(type(error), error, error.__traceback__, show_locals=True)
    )
    texts.append(console.file.getvalue())  # type: ignore[attr-defined]
    seen = {id(error)}
    link = error.__cause__ or error.__context__
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        texts.extend([str(link), repr(link)])
        link = link.__cause__ or link.__context__
    return texts


def files_under(root: Path) -> Iterable[tuple[Path, bytes]]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()
