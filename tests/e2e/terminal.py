"""A real terminal for the app: a private tmux server, keys in, screen text out."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import re
import shlex
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import psutil

_counter = itertools.count()


def _alive(process: psutil.Process) -> bool:
    """Still running (a zombie has exited: only its parent, maybe init, has to reap it)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Terminal:
    """One tmux session (80x24 by default, or `size`) on its own socket, running bash."""

    def __init__(self, workdir: Path, env: dict[str, str], size: tuple[int, int] = (80, 24)):
        self.socket = f"eonay-e2e-{os.getpid()}-{next(_counter)}"
        self.workdir = workdir
        rc = workdir / "bashrc"
        rc.write_text("PS1='$ '\n")
        full_env = {**os.environ, **env, "TERM": "xterm-256color"}
        full_env.pop("TMUX", None)
        self._tmux(
            "new-session", "-d", "-s", "e2e", "-x", str(size[0]), "-y", str(size[1]),
            f"bash --noprofile --rcfile {shlex.quote(str(rc))} -i",
            env=full_env,
        )  # fmt: skip

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=20,
        )
        return proc.stdout

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "e2e", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "e2e", "-l", text)

    def send_bytes(self, data: str) -> None:
        """`data` as raw input bytes, as a terminal sends them (mouse reports, for one)."""
        self._tmux("send-keys", "-t", "e2e", "-H", *(f"{byte:02x}" for byte in data.encode()))

    def drag(self, start: tuple[int, int], end: tuple[int, int]) -> None:
        """Press the left button at `start`, move to `end`, release: SGR mouse reports (0-based)."""

        def report(button: int, x: int, y: int, final: str = "M") -> str:
            return f"\x1b[<{button};{x + 1};{y + 1}{final}"

        (x0, y0), (x1, y1) = start, end
        middle = ((x0 + x1) // 2, (y0 + y1) // 2)
        self.send_bytes(
            report(0, x0, y0) + report(32, *middle) + report(32, x1, y1) + report(0, x1, y1, "m")
        )

    def allow_clipboard(self) -> None:
        """Let programs set tmux's clipboard with OSC 52 (each copy becomes a paste buffer)."""
        self._tmux("set-option", "-s", "set-clipboard", "on")

    def paste_buffers(self) -> str:
        """tmux's paste buffers: where an OSC 52 copy lands."""
        return self._tmux("list-buffers")

    def resize(self, width: int, height: int) -> None:
        """Make the window this size, as a person dragging its corner (the app gets SIGWINCH)."""
        self._tmux("resize-window", "-t", "e2e", "-x", str(width), "-y", str(height))

    def rows(self) -> list[str]:
        """The visible rows, one string each (as many as the window is high)."""
        return self._tmux("capture-pane", "-p", "-t", "e2e").split("\n")[:-1]

    def wait_until(self, condition: Callable[[list[str]], bool], timeout: float = 20.0) -> str:
        """Until `condition(rows)` holds; the screen then."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows()
            if condition(rows):
                return "\n".join(rows)
            if time.monotonic() > deadline:
                shown = "\n".join(rows)
                raise AssertionError(f"the screen never got there; it shows:\n{shown}")
            time.sleep(0.1)

    def wait_until_read(self, timeout: float = 20.0) -> None:
        """Until the program in the pane has read every key sent to it so far.

        Keys that reach nothing leave no trace on the screen; this waits for the
        terminal's input queue to be empty instead, so a resize sent next cannot
        overtake them.
        """
        fd = os.open(self.flag("pane_tty"), os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            deadline = time.monotonic() + timeout
            while True:
                waiting = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
                if int.from_bytes(waiting, sys.byteorder) == 0:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError("the program did not read its input")
                time.sleep(0.05)
        finally:
            os.close(fd)

    def screen(self, *, escapes: bool = False) -> str:
        """The visible text; with `escapes`, the colour and style codes too."""
        return self._tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "e2e")

    def flag(self, name: str) -> str:
        return self._tmux("display-message", "-p", "-t", "e2e", f"#{{{name}}}").strip()

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if text in shown:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear; the screen shows:\n{shown}")
            time.sleep(0.1)

    def wait_for_match(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            match = re.search(pattern, shown)
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} did not appear; the screen shows:\n{shown}")
            time.sleep(0.1)

    def record(self, path: Path | None) -> None:
        """Copy everything the program writes to the terminal into `path`; None stops."""
        if path is None:
            self._tmux("pipe-pane", "-t", "e2e")
        else:
            self._tmux("pipe-pane", "-t", "e2e", "-o", f"cat > {shlex.quote(str(path))}")

    def hang_up(self) -> None:
        """Kill the tmux server: the pane's terminal goes away, as when an SSH link drops."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)

    def close(self) -> None:
        """Stop the tmux server, and anything started in the pane that outlived it.

        Killing the server hangs up the pane; a program that does not exit on
        SIGHUP would otherwise run on after the test, with no terminal. The
        server's socket file is removed too (kill-server leaves it in /tmp).
        """
        started = self._pane_processes()
        try:
            socket_path = self.flag("socket_path")
        except (subprocess.SubprocessError, OSError):
            socket_path = ""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        if socket_path:  # tmux leaves the socket file behind
            Path(socket_path).unlink(missing_ok=True)
        deadline = time.monotonic() + 5
        while (alive := [p for p in started if _alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.05)
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()

    def processes(self) -> list[psutil.Process]:
        """Every process running in the pane now (its shell and what the shell started)."""
        return self._pane_processes()

    def _pane_processes(self) -> list[psutil.Process]:
        try:
            pids = self._tmux("list-panes", "-a", "-F", "#{pane_pid}").split()
        except (subprocess.SubprocessError, OSError):
            return []
        found: list[psutil.Process] = []
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess, ValueError):
                shell = psutil.Process(int(pid))
                found += [shell, *shell.children(recursive=True)]
        return found
