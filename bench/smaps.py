"""Where a process's resident memory goes, from /proc/PID/smaps.

RSS alone cannot tell a library's code (file-backed, clean: pages of the .so
that the kernel may drop and read again, and shares with every process that
maps the same file) from what the process wrote (private dirty: relocations,
a library's data and bss, the heap). This splits every mapping that way and
sums it per file and per kind of anonymous memory, so a figure can say which
library costs what. Run as `python -m bench.smaps PID [PID ...]` (columns
side by side, in MiB), or call `breakdown(pid)` for a JSON-ready dict.

The memory figure itself is the PSS (proportional set size) of a process and
all its descendants (`tree_pss`): each shared page counted once across the
processes that map it, divided among them, so splitting the app into processes
neither hides memory nor counts a shared library twice.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB
# pymalloc on 64-bit Linux (CPython >= 3.10) takes its arenas from mmap in
# 1 MiB pieces; the kernel may merge neighbouring ones into one mapping.
PYMALLOC_ARENA = MIB
# glibc malloc's per-thread arenas reserve 64 MiB (HEAP_MAX_SIZE on 64-bit).
GLIBC_THREAD_ARENA = 64 * MIB
# A thread's default stack, with the guard page beside it.
THREAD_STACK = 8 * MIB


@dataclass
class Pages:
    """Resident kilobytes of a group of mappings, by kind of page."""

    rss: int = 0
    clean: int = 0  # file-backed pages as read from the file (shared or not)
    dirty: int = 0  # pages written by this process (or inherited written)
    swap: int = 0
    pss: int = 0  # each page divided by the number of processes mapping it

    def add(self, other: Pages) -> None:
        self.rss += other.rss
        self.pss += other.pss
        self.clean += other.clean
        self.dirty += other.dirty
        self.swap += other.swap

    def as_mib(self) -> dict[str, float]:
        return {
            "rss_MiB": round(self.rss / KIB, 2),
            "pss_MiB": round(self.pss / KIB, 2),
            "clean_MiB": round(self.clean / KIB, 2),
            "dirty_MiB": round(self.dirty / KIB, 2),
        }


@dataclass
class Mapping:
    start: int
    end: int
    perms: str
    path: str
    fields: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.end - self.start

    def pages(self) -> Pages:
        f = self.fields
        return Pages(
            rss=f.get("Rss", 0),
            clean=f.get("Shared_Clean", 0) + f.get("Private_Clean", 0),
            dirty=f.get("Shared_Dirty", 0) + f.get("Private_Dirty", 0),
            swap=f.get("Swap", 0),
            pss=f.get("Pss", 0),
        )


def mappings(pid: int) -> Iterator[Mapping]:
    """Every mapping of `pid`, with its smaps fields in kB."""
    with Path(f"/proc/{pid}/smaps").open(encoding="utf-8", errors="replace") as smaps:
        current: Mapping | None = None
        for line in smaps:
            head, _, rest = line.partition(" ")
            if "-" in head and not head.endswith(":"):
                if current is not None:
                    yield current
                parts = rest.split(maxsplit=4)
                start, end = (int(x, 16) for x in head.split("-"))
                path = parts[4].strip() if len(parts) > 4 else ""
                current = Mapping(start, end, parts[0], path)
            elif current is not None and head.endswith(":"):
                value = rest.split()
                if value and value[0].isdigit():
                    current.fields[head[:-1]] = int(value[0])
        if current is not None:
            yield current


def _anonymous_kind(m: Mapping) -> str:
    """A best guess from outside the process: by size and protection only."""
    if m.path:
        return m.path  # [heap], [stack], [vvar] ...
    if m.perms.startswith("---"):
        return "[anon: guard/reserved]"
    if m.size == THREAD_STACK or m.size == THREAD_STACK - 4 * KIB:
        return "[anon: thread stacks]"
    if m.size < GLIBC_THREAD_ARENA and m.size % PYMALLOC_ARENA == 0:
        return "[anon: 1 MiB multiples (pymalloc arenas)]"
    if m.size % (64 * MIB) == 0 or m.size == GLIBC_THREAD_ARENA:
        return "[anon: glibc thread arenas]"
    return "[anon: other mmap]"


def _group(m: Mapping) -> str:
    if m.path.startswith("/"):
        return m.path.removesuffix(" (deleted)")
    return _anonymous_kind(m)


def breakdown(pid: int) -> dict[str, Pages]:
    """Resident pages per file and per kind of anonymous memory, biggest first."""
    groups: dict[str, Pages] = {}
    for m in mappings(pid):
        groups.setdefault(_group(m), Pages()).add(m.pages())
    return dict(sorted(groups.items(), key=lambda kv: -kv[1].rss))


def summary(pid: int | Sequence[int], min_mib: float = 0.25) -> dict[str, object]:
    """JSON-ready: RSS split into file-backed clean and dirty pages and anonymous
    memory, and each file mapped with at least `min_mib` resident.

    Several pids (the app and its card process) are added up, file by file.
    """
    groups: dict[str, Pages] = {}
    for one in [pid] if isinstance(pid, int) else pid:
        for name, pages in breakdown(one).items():
            groups.setdefault(name, Pages()).add(pages)
    files, anon = Pages(), Pages()
    per_file: dict[str, dict[str, float]] = {}
    for name, pages in groups.items():
        if name.startswith("/"):
            files.add(pages)
            if pages.rss >= min_mib * KIB:
                per_file[Path(name).name] = pages.as_mib()
        else:
            anon.add(pages)
    return {
        "rss_MiB": round((files.rss + anon.rss) / KIB, 2),
        "pss_MiB": round((files.pss + anon.pss) / KIB, 2),
        "file_clean_MiB": round(files.clean / KIB, 2),
        "file_dirty_MiB": round(files.dirty / KIB, 2),
        "anonymous_MiB": round(anon.rss / KIB, 2),
        "files": per_file,
    }


def pss_kib(pid: int) -> int:
    """The process's PSS in kB, from /proc/PID/smaps_rollup."""
    text = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii", errors="replace")
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise ValueError(f"no Pss in /proc/{pid}/smaps_rollup")


def process_tree(pid: int) -> list[int]:
    """`pid` and every process descended from it (from /proc/*/stat's parent field)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text(encoding="ascii", errors="replace")
        except OSError:  # ended meanwhile
            continue
        # `pid (comm) state ppid ...`: comm may hold spaces and parentheses
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def rss_kib(pid: int) -> int:
    """The process's RSS in kB, from /proc/PID/status (readable without ptrace access)."""
    text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS in /proc/{pid}/status")


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    mib: float
    # "pss"; or "rss" when smaps_rollup cannot be read: a process that made itself
    # not dumpable (PR_SET_DUMPABLE 0, as issue 12's card process does) is closed to
    # a reader without CAP_SYS_PTRACE. Its RSS counts instead: never less than its
    # PSS, so a split earns no credit from what cannot be read.
    counted_as: str


def tree_memory(pid: int) -> list[ProcessMemory]:
    """`pid` and its descendants, each with its PSS (or RSS, see ProcessMemory)."""
    out = []
    for member in process_tree(pid):
        try:
            try:
                out.append(ProcessMemory(member, pss_kib(member) / KIB, "pss"))
            except PermissionError:
                out.append(ProcessMemory(member, rss_kib(member) / KIB, "rss"))
        except (FileNotFoundError, ProcessLookupError):  # ended since the listing
            continue
    return out


def tree_pss(pid: int) -> tuple[float, dict[int, float]]:
    """The memory of `pid` and its descendants in MiB (PSS, see `tree_memory`): the
    sum, and each process's."""
    each = {m.pid: m.mib for m in tree_memory(pid)}
    return sum(each.values()), each


def _short(name: str) -> str:
    return Path(name).name if name.startswith("/") else name


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    pids = [int(a) for a in argv]
    per_pid = [breakdown(pid) for pid in pids]
    names: list[str] = []
    for groups in per_pid:
        names.extend(n for n in groups if n not in names)
    names.sort(key=lambda n: -max(g.get(n, Pages()).rss for g in per_pid))
    header = "".join(f"{'pid ' + str(p):>24}" for p in pids)
    print(f"{'mapping (MiB: rss clean dirty)':<46}{header}")
    totals = [Pages() for _ in pids]
    for name in names:
        cells = []
        for groups, total in zip(per_pid, totals, strict=True):
            p = groups.get(name, Pages())
            total.add(p)
            cells.append(f"{p.rss / KIB:8.2f}{p.clean / KIB:8.2f}{p.dirty / KIB:8.2f}")
        if any(g.get(name, Pages()).rss >= 64 for g in per_pid):  # hide < 64 kB everywhere
            print(f"{_short(name)[:45]:<46}{''.join(cells)}")
    cells = [f"{t.rss / KIB:8.2f}{t.clean / KIB:8.2f}{t.dirty / KIB:8.2f}" for t in totals]
    print(f"{'total':<46}{''.join(cells)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
