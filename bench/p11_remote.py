"""A card on another machine, on this one: `p11-kit server` on a SoftHSM token, reached
through `bench.p11_relay` with a chosen round-trip time.

`RemoteCard(card, workdir)` starts the server (foreground, private socket, the
token's own SOFTHSM2_CONF); `remote.link(rtt_ms)` starts a relay in front of it and
yields a `Link`: the environment a client needs (`P11_KIT_SERVER_ADDRESS`, nothing
of SoftHSM's, so the client can only reach the token through the link), the
client module's path, and the calls counted so far.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import REPO


@dataclass(frozen=True)
class Call:
    at: float  # time.perf_counter() when the whole request had reached the relay
    pid: int  # the client process
    name: str  # C_GetAttributeValue, C_FindObjects ...


def client_module_path(address: str) -> str:
    """p11-kit-client.so, found the way eonay finds it for P11_KIT_SERVER_ADDRESS."""
    from tui.core.setup.modules import SearchPaths, client_module

    return client_module(SearchPaths.system(), address).path


def _wait_for_socket(path: Path, proc: subprocess.Popen[Any], what: str) -> None:
    deadline = time.monotonic() + 15
    while not path.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} ended (status {proc.returncode}) before {path} appeared")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: no socket at {path}")
        time.sleep(0.02)


def _end(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class Link:
    rtt_ms: float
    socket_path: Path
    log_path: Path
    client_module: str

    @property
    def address(self) -> str:
        return f"unix:path={self.socket_path}"

    @property
    def env(self) -> dict[str, str]:
        return {"P11_KIT_SERVER_ADDRESS": self.address}

    def calls(self, start: float = 0.0, end: float = float("inf")) -> list[Call]:
        """The requests that had arrived in [start, end) (perf_counter times)."""
        out = []
        if not self.log_path.exists():
            return out
        for line in self.log_path.read_text(encoding="ascii").splitlines():
            parts = line.split()
            if len(parts) != 4:
                continue  # a line being written
            at = float(parts[0])
            if start <= at < end:
                out.append(Call(at, int(parts[1]), parts[3]))
        return out

    def count(self, start: float = 0.0, end: float = float("inf")) -> int:
        return len(self.calls(start, end))

    def by_name(self, start: float = 0.0, end: float = float("inf")) -> dict[str, int]:
        counts = Counter(c.name for c in self.calls(start, end))
        return dict(counts.most_common())


class RemoteCard:
    """`p11-kit server` on the provisioned token; use as a context manager."""

    def __init__(self, card: Any, workdir: Path) -> None:
        self.card = card
        self.workdir = workdir
        self.server_socket = workdir / "p11-kit-server.sock"
        self._server: subprocess.Popen[str] | None = None

    def __enter__(self) -> RemoteCard:
        p11kit = shutil.which("p11-kit")
        if p11kit is None:
            raise RuntimeError("p11-kit is not installed (Debian: apt-get install p11-kit)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SOFTHSM2_CONF": str(self.card.conf_path)}
        self._server = subprocess.Popen(
            [
                p11kit,
                "server",
                "--foreground",
                "--provider",
                self.card.module_path,
                "--name",
                str(self.server_socket),
                "pkcs11:",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "p11-kit-server.err").open("w"),
            text=True,
        )
        _wait_for_socket(self.server_socket, self._server, "p11-kit server")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            _end(self._server)

    @contextlib.contextmanager
    def link(self, rtt_ms: float) -> Iterator[Link]:
        """A relay adding `rtt_ms` of round trip, in its own process, for the block's time."""
        name = f"relay-{rtt_ms:g}ms-{time.monotonic_ns()}"
        sock, log = self.workdir / f"{name}.sock", self.workdir / f"{name}.log"
        relay = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.p11_relay",
                "--listen",
                str(sock),
                "--upstream",
                str(self.server_socket),
                "--rtt-ms",
                str(rtt_ms),
                "--log",
                str(log),
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / f"{name}.err").open("w"),
            text=True,
        )
        try:
            _wait_for_socket(sock, relay, "the relay")
            link = Link(rtt_ms, sock, log, "")
            link.client_module = client_module_path(link.address)
            yield link
        finally:
            _end(relay)
