"""A tmux server of our own (private socket): start a command, send keys, read the screen.

Every wait is timed: the time from a key to the expected screen is the app's
own time (plus at most one poll interval); deliberate pauses are recorded
apart as scripted waits.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

POLL_S = 0.02


@dataclass
class Step:
    name: str
    app_s: float  # from the key (or exec) until the expected text showed
    scripted_s: float = 0.0  # deliberate pauses before the key


@dataclass
class Tmux:
    socket: str
    env: Mapping[str, str]
    columns: int = 80
    lines: int = 24
    steps: list[Step] = field(default_factory=list)

    def _tmux(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "TMUX": ""},
            check=check,
            timeout=30,
        )
        return proc.stdout

    def start(self, argv: Sequence[str], cwd: str) -> float:
        """Start `argv` in an 80x24 window; return the moment of exec."""
        env_args = [a for k, v in self.env.items() for a in ("-e", f"{k}={v}")]
        # Start the server with a shell first so the exec moment is ours, not tmux's.
        self._tmux(
            "new-session",
            "-d",
            "-s",
            "bench",
            "-x",
            str(self.columns),
            "-y",
            str(self.lines),
            "-c",
            cwd,
            *env_args,
            "cat",
        )
        self._tmux("set-option", "-g", "remain-on-exit", "on")
        started = time.perf_counter()
        self._tmux("respawn-pane", "-k", "-t", "bench", "-c", cwd, *env_args, *argv)
        return started

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "bench")

    def wait_for(self, check: Callable[[str], bool] | str, timeout: float = 60.0) -> str:
        test = (lambda s: check in s) if isinstance(check, str) else check
        deadline = time.perf_counter() + timeout
        while True:
            text = self.screen()
            if test(text):
                return text
            if time.perf_counter() > deadline:
                raise TimeoutError(f"tmux screen never showed {check!r}:\n{text}")
            time.sleep(POLL_S)

    def send(self, *keys: str, literal: bool = False) -> None:
        self._tmux("send-keys", "-t", "bench", *(["-l"] if literal else []), *keys)

    def step(
        self,
        name: str,
        expect: Callable[[str], bool] | str,
        keys: Sequence[str] = (),
        literal: str | None = None,
        pause: float = 0.0,
        since: float | None = None,
        timeout: float = 60.0,
    ) -> str:
        """Pause (scripted), send the keys, and time until `expect` shows (the app's time)."""
        if pause:
            time.sleep(pause)
        t0 = time.perf_counter() if since is None else since
        if literal:
            self.send(literal, literal=True)
        if keys:
            self.send(*keys)
        text = self.wait_for(expect, timeout)
        self.steps.append(Step(name, time.perf_counter() - t0, pause))
        return text

    def close(self) -> None:
        socket_path = self._tmux("display-message", "-p", "#{socket_path}", check=False).strip()
        self._tmux("kill-server", check=False)
        if socket_path:  # kill-server leaves the socket file in /tmp/tmux-UID
            Path(socket_path).unlink(missing_ok=True)

    def __enter__(self) -> Tmux:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
