"""A process in an 80x24 pseudo-terminal, its output rendered by pyte and timed.

Every byte the process writes is recorded with the moment it arrived, so one
run yields the start-up time (exec until a text is visible), the bytes of a
paint and the bytes per second of a steady screen. The terminal never answers
queries (like a plain xterm over SSH with no synchronized-output support), so
the bytes are the app's alone.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pyte

COLUMNS = 80
LINES = 24


@dataclass
class Chunk:
    at: float  # time.perf_counter() when read
    data: bytes


@dataclass
class PtyRun:
    """One process on a pseudo-terminal; use as a context manager."""

    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: str | None = None
    columns: int = COLUMNS
    lines: int = LINES
    chunks: list[Chunk] = field(default_factory=list)
    started_at: float = 0.0
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self._screen = pyte.Screen(self.columns, self.lines)
        self._stream = pyte.ByteStream(self._screen)
        self._lock = threading.Condition()
        self._master = -1
        self._reader: threading.Thread | None = None
        self._closed = False
        # predicate -> arrival time of the chunk that first made it true (None: not yet)
        self._watchers: list[tuple[Callable[[str], bool], list[float | None]]] = []

    # -- life cycle -------------------------------------------------------
    def start(self) -> PtyRun:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.lines, self.columns, 0, 0))
        self._master = master
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            list(self.argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(self.env),
            cwd=self.cwd,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        return self

    def __enter__(self) -> PtyRun:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        proc = self.process
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._closed = True
        if self._reader is not None:
            self._reader.join(2.0)
        if self._master >= 0:
            os.close(self._master)
            self._master = -1

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    # -- input and output -------------------------------------------------
    def _read_loop(self) -> None:
        while not self._closed:
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self._master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            now = time.perf_counter()
            with self._lock:
                self.chunks.append(Chunk(now, data))
                self._stream.feed(data)
                if any(hit[0] is None for _, hit in self._watchers):
                    text = "\n".join(self._screen.display)
                    for check, hit in self._watchers:
                        if hit[0] is None and check(text):
                            hit[0] = now
                self._lock.notify_all()
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def send(self, text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        os.write(self._master, data)

    def type(self, text: str, gap: float = 0.0) -> None:
        """Type key by key, as a person would (`gap` seconds between keys)."""
        for ch in text:
            self.send(ch)
            if gap:
                time.sleep(gap)

    def screen_text(self) -> str:
        with self._lock:
            return "\n".join(self._screen.display)

    def wait_for(self, predicate: Callable[[str], bool] | str, timeout: float = 30.0) -> float:
        """Block until the rendered screen satisfies `predicate`; return when it first did.

        The moment returned is the arrival of the chunk that made it true: the
        reader thread checks every chunk, so a late wake-up here changes nothing.
        """
        check = (lambda s: predicate in s) if isinstance(predicate, str) else predicate
        hit: list[float | None] = [None]
        deadline = time.perf_counter() + timeout
        with self._lock:
            if check("\n".join(self._screen.display)):
                return self.chunks[-1].at if self.chunks else time.perf_counter()
            self._watchers.append((check, hit))
            try:
                while hit[0] is None:
                    if self._closed:
                        text = "\n".join(self._screen.display)
                        raise RuntimeError(
                            f"process ended before the screen showed {predicate!r}:\n{text}"
                        )
                    left = deadline - time.perf_counter()
                    if left <= 0:
                        text = "\n".join(self._screen.display)
                        raise TimeoutError(
                            f"screen never showed {predicate!r} in {timeout}s:\n{text}"
                        )
                    self._lock.wait(min(left, 0.1))
                return hit[0]
            finally:
                self._watchers.remove((check, hit))

    def wait_quiet(self, quiet: float = 0.25, timeout: float = 10.0) -> float:
        """Block until nothing arrives for `quiet` seconds; return the last arrival time."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._lock:
                last = self.chunks[-1].at if self.chunks else self.started_at
            if time.perf_counter() - last >= quiet:
                return last
            time.sleep(quiet / 5)
        raise TimeoutError(f"output never went quiet for {quiet}s")

    # -- accounting -------------------------------------------------------
    def bytes_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(len(c.data) for c in self.chunks if start <= c.at < end)

    def burst_end(self, after: float, gap: float = 0.05) -> float:
        """The end of the burst of output that was arriving at `after`.

        A paint is written in a few quick writes; it ends at the first pause of
        `gap` seconds. Used to count the bytes of a whole first paint.
        """
        with self._lock:
            end = after
            for c in self.chunks:
                if c.at <= after:
                    continue
                if c.at - end > gap:
                    break
                end = c.at
            return end

    def raw_output(self) -> bytes:
        with self._lock:
            return b"".join(c.data for c in self.chunks)

    def now(self) -> float:
        return time.perf_counter()


def terminal_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an SSH login on an xterm: 256 colours, no COLORTERM."""
    keep = ("PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        TERM="xterm-256color",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
    )
    if extra:
        env.update(extra)
    return env
