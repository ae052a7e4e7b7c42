import pickle

import pytest

from tui.core.clock import Deadline, FakeClock
from tui.core.pin import CAPACITY, Pin


def test_pin_is_hidden_and_wiped():
    pin = Pin()
    for digit in "123456":
        pin.append(digit)
    assert "123456" not in repr(pin) and "123456" not in str(pin)
    buf = pin.buffer().obj  # the one buffer the digits ever lived in
    assert isinstance(buf, bytearray)
    with pin:
        assert bytes(pin.buffer()) == b"123456"
        assert pin.buffer().obj is buf  # a view of it, not a copy
    assert buf == bytearray(CAPACITY)  # the whole capacity is zero
    assert len(pin) == 0


def test_pin_refuses_non_digits_and_pickling():
    pin = Pin()
    pin.append("1")
    with pytest.raises(ValueError):
        pin.append("a")
    with pytest.raises(TypeError):
        pickle.dumps(pin)
    with pytest.raises(TypeError):
        Pin(bytearray(b"123456"))  # type: ignore[arg-type]  # no Pin around digits made elsewhere
    pin.pop()
    assert len(pin) == 0


def test_pin_buffer_is_never_resized():
    """Growing or shrinking a bytearray moves it and leaves the old block in the heap."""
    pin = Pin.from_str("739146")
    buf = pin.buffer().obj
    assert isinstance(buf, bytearray)
    with pytest.raises(BufferError):
        buf.append(0)
    with pytest.raises(BufferError):
        del buf[-1]
    for _ in range(CAPACITY - 6):
        pin.append("1")
    with pytest.raises(ValueError):
        pin.append("1")  # full: refused, not grown
    assert len(buf) == CAPACITY
    pin.pop()
    assert buf[CAPACITY - 1] == 0 and len(buf) == CAPACITY


def test_pin_load_fills_in_place():
    import os

    pin = Pin()
    buf = pin.buffer().obj
    read, write = os.pipe()
    try:
        os.write(write, b"739146\n")
        pin.load(lambda view: os.readv(read, [view]) and None, 6)
    finally:
        os.close(read)
        os.close(write)
    assert bytes(pin.buffer()) == b"739146" and len(pin) == 6 and pin.is_digits()
    assert pin.buffer().obj is buf

    def broken(view: memoryview) -> None:
        view[:3] = b"123"
        raise OSError("the socket went away")

    with pytest.raises(OSError):
        pin.load(broken, 6)
    assert buf == bytearray(CAPACITY) and len(pin) == 0  # wiped on the way out
    with pytest.raises(ValueError):
        pin.load(lambda view: None, CAPACITY + 1)


def test_pin_memory_is_locked():
    """In a fresh process: a Pin's page is mlock'ed (VmLck grows). Where the limit forbids
    it the PIN still works with a note in the log; root (CAP_IPC_LOCK) is never refused,
    so that path is only run, not checked, when the tests run as root."""
    import os
    import subprocess
    import sys

    script = (
        "import logging, resource, sys\n"
        "logging.basicConfig(level=logging.INFO, format='%(message)s', stream=sys.stdout)\n"
        "if sys.argv[1] == 'none':\n"
        "    resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))\n"
        "def locked():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmLck:'):\n"
        "            return int(line.split()[1])\n"
        "from tui.core.pin import Pin\n"
        "before = locked()\n"
        "pins = [Pin.from_str('7391') for _ in range(2)]\n"
        "print('locked', before, locked(), len(pins[1]))\n"
    )
    allowed = subprocess.run(
        [sys.executable, "-c", script, "allowed"], capture_output=True, text=True, check=True
    ).stdout
    none = subprocess.run(
        [sys.executable, "-c", script, "none"], capture_output=True, text=True, check=True
    ).stdout
    _, before, after, length = allowed.split("\n")[-2].split()
    assert int(after) >= int(before) + 4 and length == "4", allowed
    assert none.split("\n")[-2].split()[-1] == "4"  # the PIN works under any limit
    if os.geteuid() != 0:
        assert "the PIN's memory is not locked" in none
        assert none.count("not locked") == 1  # noted once, not per PIN


def test_deadline_follows_monotonic_clock_only():
    clock = FakeClock()
    deadline = Deadline.in_seconds(285, clock)
    assert deadline.remaining() == 285
    clock.advance(284.5)
    assert deadline.remaining() == pytest.approx(0.5)
    clock.advance(1)
    assert deadline.remaining() == 0 and deadline.expired()
