"""Keep secrets out of core dumps and away from debuggers; end with the parent.

Both eonay processes see the PIN (the UI while it is typed, the card process
while it signs): neither may be dumped to disk or read by another process of
the same user through ptrace or /proc/PID/mem, and the card process must never
outlive the app that started it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import signal

PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4


class HardeningError(OSError):
    """prctl refused: the process is not as protected as it must be."""


def _prctl(option: int, value: int) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    result = int(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0))
    if result < 0:
        errno = ctypes.get_errno()
        raise HardeningError(errno, f"prctl({option}): {os.strerror(errno)}")
    return result


def harden_process() -> None:
    """Not dumpable (no ptrace attach, /proc/PID/mem closed to the user), no core files."""
    _prctl(PR_SET_DUMPABLE, 0)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def dumpable() -> bool:
    return _prctl(PR_GET_DUMPABLE, 0) != 0


def die_with_parent(expected_parent: int) -> None:
    """SIGKILL when the parent ends; exit now if it already has (the race before prctl)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != expected_parent:
        os._exit(1)
