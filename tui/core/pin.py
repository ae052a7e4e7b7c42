"""The PIN: a mutable buffer that is zeroed as soon as one signature is done."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

# The longest PIN `load` accepts (PKCS#11 tokens allow far fewer digits).
CAPACITY = 64


class Pin:
    """Holds PIN digits in a bytearray; never shows them in repr, str or logs.

    Use as a context manager, or call `wipe()`; both overwrite the bytes in place.
    """

    __slots__ = ("_buf",)

    def __init__(self, digits: bytearray | None = None) -> None:
        self._buf = digits if digits is not None else bytearray()

    @classmethod
    def from_str(cls, digits: str) -> Pin:
        return cls(bytearray(digits.encode("ascii")))

    def __len__(self) -> int:
        return len(self._buf)

    def __repr__(self) -> str:
        return f"Pin(<{len(self._buf)} digits hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a PIN cannot be pickled")

    def append(self, digit: str) -> None:
        if len(digit) != 1 or digit not in "0123456789":
            raise ValueError("a PIN holds digits only")
        self._buf.append(ord(digit))

    def pop(self) -> None:
        if self._buf:
            self._buf[-1] = 0
            del self._buf[-1]

    def buffer(self) -> bytearray:
        """The live bytes, for the one call that hands them to the card."""
        return self._buf

    def load(self, fill: Callable[[memoryview], None], length: int) -> None:
        """Let `fill` write `length` PIN bytes straight into this PIN's own buffer.

        The card process receives the PIN from the socket this way (`recv_into`),
        so the digits never become a separate Python object.
        """
        if not 0 <= length <= CAPACITY:
            raise ValueError(f"a PIN holds at most {CAPACITY} bytes")
        self.wipe()
        self._buf.extend(bytes(length))  # zeros: room for the digits, no copy of them
        with memoryview(self._buf) as view:
            fill(view)

    def wipe(self) -> None:
        for i in range(len(self._buf)):
            self._buf[i] = 0
        self._buf.clear()

    def __enter__(self) -> Pin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.wipe()
