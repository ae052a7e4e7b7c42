"""A real sshd on 127.0.0.1 for the `eonay ssh` tests, never the system's.

It runs as the user running the tests, on a free port, with its own host
key, configuration and authorized key in a temporary directory; logging in
as that same user needs no root. As root, sshd insists on its privilege
separation directory (/run/sshd, which the system's service would create):
it is made if missing, and nothing else outside the directory is touched.
"""

from __future__ import annotations

import contextlib
import getpass
import glob
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psutil

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")
T = TypeVar("T")
REMOTE_SOCKETS = "/tmp/eonay-*.sock"  # where `eonay ssh` forwards the card on the server


def sshd_missing() -> str | None:
    """Why the sshd tests cannot run here, or None (./run installs openssh-server)."""
    if not os.access(SSHD, os.X_OK):
        return f"{SSHD} is not installed (./run installs openssh-server)"
    for tool in ("ssh", "ssh-keygen", "p11-kit"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def client_module() -> str | None:
    for pattern in (
        "/usr/lib/*/pkcs11/p11-kit-client.so",
        "/usr/lib/pkcs11/p11-kit-client.so",
        "/usr/lib64/pkcs11/p11-kit-client.so",
    ):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def remote_sockets() -> set[str]:
    return set(glob.glob(REMOTE_SOCKETS))


def local_processes(tmpdir: Path) -> list[psutil.Process]:
    """This side's processes of a session run with TMPDIR=`tmpdir`: `eonay ssh`, ssh,
    p11-kit server and the children serving its connections all inherit it."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get("TMPDIR") == str(tmpdir) or any(
                str(tmpdir) in word for word in process.info["cmdline"] or ()
            ):
                found.append(process)
    return found


def cmdline(process: psutil.Process) -> list[str]:
    """Its command line, or [] once it has ended (the watcher's `sleep 1` come and go)."""
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return ""


def remote_session(socket_path: str) -> list[psutil.Process]:
    """The server side of one session, once eonay runs: eonay (exec'd by the remote `sh -c`,
    in the login shell's place), its card process, and the watcher that removes the socket
    (the `sh -c` still, given `socket_path` as its $1). Empty before eonay runs."""
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if cmdline[:2] != ["sh", "-c"] or socket_path not in cmdline[2:]:
            continue
        with contextlib.suppress(psutil.Error):
            parent = process.parent()
            if parent is not None and parent.cmdline()[:2] != ["sh", "-c"]:
                return [parent, *parent.children(recursive=True)]
    return []


def gone(processes: list[psutil.Process]) -> bool:
    """Every one has ended (a zombie has: only its parent has to reap it)."""
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                return False
    return True


def wait_until(condition: Callable[[], T], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"still not so after {timeout} s: {condition}")
        time.sleep(0.05)
    return value


def assert_nothing_left(tmpdir: Path, remote_before: set[str]) -> None:
    """No file in `tmpdir` (the private directory and its socket), no process of this side,
    and, within a few seconds, no new socket on the server: its watcher removes it within
    a second of the remote eonay's end, which may come just after ssh's."""
    assert list(tmpdir.iterdir()) == []
    assert local_processes(tmpdir) == []
    deadline = time.monotonic() + 10
    while remote_sockets() - remote_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert remote_sockets() - remote_before == set()


@dataclass(frozen=True)
class Sshd:
    port: int
    user: str
    key: Path  # the client's private key, authorized for `user`
    log: Path

    @property
    def destination(self) -> str:
        return f"{self.user}@127.0.0.1"

    def ssh_options(self) -> list[str]:
        """What `ssh` needs to reach it quietly, with no config or known_hosts of the user's."""
        return [
            "-F", "/dev/null",
            "-p", str(self.port),
            "-i", str(self.key),
            "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR",
        ]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        try:
            probe.connect(("127.0.0.1", port))
        except OSError:
            return False
        try:
            return probe.recv(4).startswith(b"SSH-")
        except OSError:
            return False


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def running_sshd(workdir: Path) -> Iterator[Sshd]:
    workdir.mkdir(parents=True, exist_ok=True)
    _keygen(workdir / "host_key")
    _keygen(workdir / "user_key")
    (workdir / "authorized_keys").write_text((workdir / "user_key.pub").read_text())
    if os.geteuid() == 0 and not PRIVSEP_DIR.is_dir():
        PRIVSEP_DIR.mkdir(mode=0o755)
    log = workdir / "sshd.log"
    for _attempt in range(5):  # another process may take the port between the probe and sshd
        port = _free_port()
        config = workdir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {workdir / 'host_key'}",
                    f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
                    f"PidFile {workdir / 'sshd.pid'}",
                    "UsePAM no",
                    "StrictModes no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "AllowStreamLocalForwarding yes",
                    "StreamLocalBindUnlink no",  # as shipped: a leftover socket blocks a fixed path
                    "PrintMotd no",
                    "PrintLastLog no",
                    "",
                ]
            )
        )
        with log.open("ab") as log_file:
            process = subprocess.Popen(
                [SSHD, "-f", str(config), "-D", "-e"],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )
        deadline = time.monotonic() + 15
        while process.poll() is None and not _listening(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None and _listening(port):
            break
        process.kill()
        process.wait()
    else:
        raise RuntimeError(f"sshd did not start: {log.read_text()}")
    try:
        yield Sshd(port, getpass.getuser(), workdir / "user_key", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
