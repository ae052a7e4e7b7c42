"""Searching a process tree's memory for a secret, through /proc/PID/maps and /proc/PID/mem.

Every readable mapping is read (heap, stacks, anonymous, the files mapped in),
except the kernel's [vvar] and [vsyscall], which /proc/PID/mem cannot read.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import psutil

CHUNK = 1 << 20
_UNREADABLE = ("[vvar]", "[vvar_vclock]", "[vsyscall]")


def encodings(secret: str) -> dict[str, bytes]:
    """The forms a str can take in memory: ASCII, and UTF-16 and UTF-32 in both byte orders."""
    return {
        "ascii": secret.encode("ascii"),
        "utf-16-le": secret.encode("utf-16-le"),
        "utf-16-be": secret.encode("utf-16-be"),
        "utf-32-le": secret.encode("utf-32-le"),
        "utf-32-be": secret.encode("utf-32-be"),
    }


@dataclass(frozen=True)
class Found:
    pid: int
    name: str  # the process's name
    form: str  # which encoding
    address: int
    mapping: str  # the mapping's path, or [heap], [stack], "" for anonymous

    def __str__(self) -> str:
        return f"{self.form} in pid {self.pid} ({self.name}) at 0x{self.address:x} {self.mapping}"


def tree(pid: int) -> list[psutil.Process]:
    """The process and every process below it."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def search_tree(pid: int, secret: str) -> list[Found]:
    found: list[Found] = []
    for process in tree(pid):
        found.extend(search_process(process.pid, secret))
    return found


def search_process(pid: int, secret: str) -> list[Found]:
    """Every place `secret` lies in the process's memory, in any of `encodings`.

    Raises PermissionError when this process may not read the other's memory
    (not root, or the other is not dumpable): a search that cannot look finds nothing.
    """
    needles = encodings(secret)
    overlap = max(len(n) for n in needles.values()) - 1
    name = psutil.Process(pid).name()
    found: list[Found] = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split(maxsplit=5)
            span, perms = fields[0], fields[1]
            path = fields[5].strip() if len(fields) > 5 else ""
            if perms[0] != "r" or path in _UNREADABLE:
                continue
            start, end = (int(part, 16) for part in span.split("-"))
            tail = b""
            at = start
            while at < end:
                size = min(CHUNK, end - at)
                try:
                    mem.seek(at)
                    chunk = mem.read(size)
                except OSError:  # a guard page or a mapping that went away
                    break
                if not chunk:
                    break
                window = tail + chunk
                base = at - len(tail)
                for form, needle in needles.items():
                    index = window.find(needle)
                    while index != -1:
                        found.append(Found(pid, name, form, base + index, path))
                        index = window.find(needle, index + 1)
                tail = window[-overlap:]
                at += len(chunk)
    # a hit found in the overlap twice is one place
    return sorted(set(found), key=lambda f: (f.pid, f.address, f.form))


def readable(pid: int) -> bool:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        with open(f"/proc/{pid}/maps") as maps:
            start = int(maps.readline().split("-")[0], 16)
        mem.seek(start)
        mem.read(1)
        return True
    return False
