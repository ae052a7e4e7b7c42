"""Watching where the PIN goes: a bytearray that remembers what it let go of, and searches.

`WatchedBuffer` is a bytearray: the app's `Pin` keeps it as its buffer and
hands it to C_Login unchanged. It records the bytes it drops, so a test can
tell "overwritten with zeros, then released" from "released with the digits
still in memory".
"""

from __future__ import annotations

import io
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Console
from rich.traceback import Traceback

from tui.core.pin import Pin


class WatchedBuffer(bytearray):
    made: ClassVar[list[WatchedBuffer]] = []

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.peak = len(self)
        self.dropped: list[bytes] = []
        WatchedBuffer.made.append(self)

    def append(self, item: int) -> None:
        super().append(item)
        self.peak = max(self.peak, len(self))

    def __delitem__(self, key: Any) -> None:
        gone = self[key]
        self.dropped.append(bytes([gone]) if isinstance(gone, int) else bytes(gone))
        super().__delitem__(key)

    def clear(self) -> None:
        self.dropped.append(bytes(self))
        super().clear()

    @property
    def wiped(self) -> bool:
        """Empty now, and every byte it ever let go of had been overwritten with zero first."""
        return len(self) == 0 and all(not any(chunk) for chunk in self.dropped)


def watched_pin(digits: str = "") -> Pin:
    return Pin(WatchedBuffer(digits.encode("ascii")))


class WatchedPin(Pin):
    """`Pin()` as the PIN field makes it, on a `WatchedBuffer`."""

    def __init__(self, digits: bytearray | None = None) -> None:
        super().__init__(digits if digits is not None else WatchedBuffer())


def held_digits() -> list[WatchedBuffer]:
    return [buffer for buffer in WatchedBuffer.made if buffer.peak > 0]


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
