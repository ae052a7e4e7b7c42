import pickle

import pytest

from tui.core.clock import Deadline, FakeClock
from tui.core.pin import Pin


def test_pin_is_hidden_and_wiped():
    buf = bytearray(b"123456")
    pin = Pin(buf)
    assert "123456" not in repr(pin) and "123456" not in str(pin)
    with pin:
        assert bytes(pin.buffer()) == b"123456"
    assert buf == bytearray()
    assert len(pin) == 0


def test_pin_refuses_non_digits_and_pickling():
    pin = Pin()
    pin.append("1")
    with pytest.raises(ValueError):
        pin.append("a")
    with pytest.raises(TypeError):
        pickle.dumps(pin)
    pin.pop()
    assert len(pin) == 0


def test_deadline_follows_monotonic_clock_only():
    clock = FakeClock()
    deadline = Deadline.in_seconds(285, clock)
    assert deadline.remaining() == 285
    clock.advance(284.5)
    assert deadline.remaining() == pytest.approx(0.5)
    clock.advance(1)
    assert deadline.remaining() == 0 and deadline.expired()
