"""The PIN: one fixed buffer, locked in memory, zeroed as soon as one signature is done.

A bytearray that grows or shrinks is reallocated, and the old block goes back
to the heap with the digits still in it. So the buffer is allocated once at
its full capacity and never resized: a memoryview held on it for the Pin's
whole life makes every resize fail (BufferError) rather than copy. It is
mlock'ed so the digits never reach swap; where the limit forbids it (EPERM,
ENOMEM) the PIN still works, with a note in the log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)

CAPACITY = 64  # PKCS#11 tokens allow far fewer digits (AKIS: 8 or 16)
_DIGITS = frozenset(b"0123456789")


class _Mlock:
    """libc's mlock, loaded once; None when there is no libc to ask (not Linux)."""

    _fn: Callable[[int, int], int] | None = None
    _loaded = False
    _noted = False

    @classmethod
    def lock(cls, buffer: bytearray) -> None:
        import ctypes  # here: the first screen draws before ctypes is needed
        import ctypes.util

        if not cls._loaded:
            cls._loaded = True
            name = ctypes.util.find_library("c")
            if name is not None:
                libc = ctypes.CDLL(name, use_errno=True)
                fn = libc.mlock
                fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
                fn.restype = ctypes.c_int
                cls._fn = fn
        if cls._fn is None:
            return
        address = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
        if cls._fn(address, len(buffer)) != 0 and not cls._noted:
            cls._noted = True  # once: every later PIN meets the same limit
            err = ctypes.get_errno()
            log.info("the PIN's memory is not locked (mlock: %s)", os.strerror(err))


class Pin:
    """PIN digits in a fixed, locked buffer; never shown in repr, str, logs or pickles.

    Use as a context manager, or call `wipe()`: both zero the whole capacity in place.
    Pages stay locked after a Pin is gone: another Pin may share the page, and mlock
    does not count, so unlocking one would unlock the other.
    """

    __slots__ = ("_buf", "_length", "_view")

    def __init__(self, capacity: int = CAPACITY) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise TypeError("a Pin is made empty, with its capacity, and filled in place")
        self._buf = bytearray(capacity)
        self._view = memoryview(self._buf)  # held for life: the buffer can never be resized
        self._length = 0
        _Mlock.lock(self._buf)

    @classmethod
    def from_str(cls, digits: str) -> Pin:
        """Tests and the benchmark only: the app never has a PIN in a str."""
        pin = cls()
        for digit in digits:
            pin.append(digit)
        return pin

    @property
    def capacity(self) -> int:
        return len(self._buf)

    def __len__(self) -> int:
        return self._length

    def __repr__(self) -> str:
        return f"Pin(<{self._length} digits hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a PIN cannot be pickled")

    def append(self, digit: str) -> None:
        """One digit, as a key event gives it (a one-character str CPython shares)."""
        if len(digit) != 1 or digit not in "0123456789":
            raise ValueError("a PIN holds digits only")
        if self._length >= len(self._buf):
            raise ValueError("the PIN is longer than any card takes")
        self._buf[self._length] = ord(digit)
        self._length += 1

    def append_byte(self, byte: int) -> None:
        """One digit as the terminal sent it (an ASCII code): no str is made of it at all."""
        if byte not in _DIGITS:
            raise ValueError("a PIN holds digits only")
        if self._length >= len(self._buf):
            raise ValueError("the PIN is longer than any card takes")
        self._buf[self._length] = byte
        self._length += 1

    def pop(self) -> None:
        if self._length:
            self._length -= 1
            self._buf[self._length] = 0

    def load(self, fill: Callable[[memoryview], None], length: int) -> None:
        """Let `fill` write exactly `length` bytes into the buffer (a socket's recv_into,
        os.readv); the PIN is then those bytes. Wiped if `fill` raises."""
        if not 0 <= length <= len(self._buf):
            raise ValueError(f"a PIN of {length} bytes does not fit in {len(self._buf)}")
        self.wipe()
        try:
            fill(self._view[:length])
        except BaseException:
            self.wipe()
            raise
        self._length = length

    def is_digits(self) -> bool:
        """True when every byte is an ASCII digit (a loaded PIN is not checked by `load`)."""
        return all(b in _DIGITS for b in self._view[: self._length])

    def buffer(self) -> memoryview:
        """Exactly the digits, in place (no copy): for the one call that hands them to the card."""
        return self._view[: self._length]

    def wipe(self) -> None:
        self._view[:] = bytes(len(self._buf))
        self._length = 0

    def __enter__(self) -> Pin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.wipe()

    def __del__(self) -> None:
        if hasattr(self, "_view"):
            self.wipe()
