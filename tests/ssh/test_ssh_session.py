"""`eonay ssh` for real: p11-kit server here, sshd on 127.0.0.1, eonay on "the server".

The remote eonay sees no SoftHSM configuration (sshd passes no environment
on), so the certificates it lists can only have come through the forwarded
socket and p11-kit-client.so. After each session, nothing of it is left: no
p11-kit server (its private directory is under a TMPDIR of the test's own),
no local socket, no remote socket in /tmp.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.sshd import (
    Sshd,
    assert_nothing_left,
    client_module,
    cmdline,
    gone,
    local_processes,
    name,
    remote_session,
    remote_sockets,
    wait_until,
)
from tui.core.setup.ssh_card import EXIT_NO_EONAY

pytestmark = [pytest.mark.softhsm, pytest.mark.slow]

REMOTE_EONAY = str(Path(sys.executable).with_name("eonay"))  # this checkout's, on "the server"


def eonay_ssh(
    sshd: Sshd, module: str, *eonay_args: str, remote_eonay: str = REMOTE_EONAY
) -> list[str]:
    return [
        sys.executable, "-m", "tui", "ssh",
        "--module", module,
        "--remote-eonay", remote_eonay,
        *sshd.ssh_options(),
        sshd.destination,
        "--", *eonay_args,
    ]  # fmt: skip


def local_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This side's environment: its temporary files under `tmp_path/tmp`, so they can be
    counted; no XDG_RUNTIME_DIR (as in a `su` shell, a container), which it does not need."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp), "LANG": "C.UTF-8", **extra}
    env.pop("XDG_RUNTIME_DIR", None)
    return env


def the_listing(softhsm_card) -> dict[str, str]:
    """id -> SHA-256 fingerprint of every certificate on the session's token, read here."""
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "certs", "--json", "--module", softhsm_card.module_path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return {c["id"]: c["fingerprint_sha256"] for c in json.loads(proc.stdout)}


def test_the_certificates_come_through_the_forwarded_socket(sshd, softhsm_card, tmp_path):
    before = remote_sockets()
    proc = subprocess.run(
        eonay_ssh(sshd, softhsm_card.module_path, "certs", "--json"),
        capture_output=True,
        text=True,
        env=local_env(tmp_path),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert {c["module"] for c in listed} == {client_module()}  # p11-kit-client.so, on the server
    assert {c["id"]: c["fingerprint_sha256"] for c in listed} == the_listing(softhsm_card)
    assert {c["token"] for c in listed} == set(softhsm_card.tokens)
    assert_nothing_left(tmp_path / "tmp", before)


def _start_waiting_session(
    sshd, softhsm_card, tmp_path
) -> tuple[subprocess.Popen[str], str, list[psutil.Process]]:
    """A session whose remote eonay waits for a PIN on stdin, after listing the card through
    the socket: the local process, the remote socket, and the server side's processes."""
    holder = softhsm_card.holders[0]
    text = tmp_path / "text.txt"
    text.write_text("Bu metni imzalıyorum.", encoding="utf-8")
    before = remote_sockets()
    session = subprocess.Popen(
        eonay_ssh(
            sshd, softhsm_card.module_path,
            "sign", "--cert-id", holder.cert_id, "--text-file", str(text),
            "--nonce", "bm9uY2U", "--out", str(tmp_path / "never.p7s"), "--pin-stdin",
        ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=local_env(tmp_path),
    )  # fmt: skip
    [remote] = wait_until(lambda: remote_sockets() - before)
    server_side = wait_until(lambda: _with_card_process(remote_session(remote)))
    # p11-kit server, and the child it started to serve the remote eonay's connection
    wait_until(lambda: len(_p11kit(local_processes(tmp_path / "tmp"))) >= 2)
    [private] = (tmp_path / "tmp").iterdir()  # from mkdtemp: the user's alone
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert (private / "card.sock").is_socket()
    return session, remote, server_side


def _p11kit(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if name(p).startswith("p11-kit")]


def _with_card_process(processes: list[psutil.Process]) -> list[psutil.Process]:
    """`processes` once the remote eonay has started its card process (and so used the socket)."""
    if any("tui.core.card.process" in cmdline(p) for p in processes):
        return processes
    return []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_ends_the_session_and_removes_both_sockets_and_the_server(
    sshd, softhsm_card, tmp_path, sig
):
    before = remote_sockets()
    session, remote, server_side = _start_waiting_session(sshd, softhsm_card, tmp_path)
    try:
        session.send_signal(sig)
        session.wait(timeout=30)
        assert session.returncode == 128 + sig
        # sshd closes the session: the remote eonay reads the end of its input and ends,
        # then the watcher removes the socket
        wait_until(lambda: gone(server_side))
        assert not os.path.exists(remote)
        assert_nothing_left(tmp_path / "tmp", before)
        assert not (tmp_path / "never.p7s").exists()
    finally:
        if session.poll() is None:
            session.kill()
        session.communicate()


def test_a_leftover_remote_socket_does_not_block_the_next_login(sshd, softhsm_card, tmp_path):
    before = remote_sockets()
    session, remote, server_side = _start_waiting_session(sshd, softhsm_card, tmp_path)
    try:
        # The server side dies without its cleanup: the socket stays behind, as it did
        # for the README's fixed path, where the next login then failed every time.
        for process in server_side:
            process.kill()
        session.communicate(timeout=30)
        assert os.path.exists(remote), "the test needs a leftover socket"

        proc = subprocess.run(
            eonay_ssh(sshd, softhsm_card.module_path, "certs", "--json"),
            capture_output=True,
            text=True,
            env=local_env(tmp_path),
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert {c["id"] for c in json.loads(proc.stdout)} == set(the_listing(softhsm_card))
        assert_nothing_left(tmp_path / "tmp", before | {remote})
    finally:
        if session.poll() is None:
            session.kill()
            session.communicate()
        Path(remote).unlink(missing_ok=True)


def test_no_eonay_on_the_server_is_said_clearly(sshd, softhsm_card, tmp_path):
    before = remote_sockets()
    proc = subprocess.run(
        eonay_ssh(sshd, softhsm_card.module_path, "certs", remote_eonay="eonay-not-installed"),
        capture_output=True,
        text=True,
        env=local_env(tmp_path, LANG="tr_TR.UTF-8"),
        timeout=120,
    )
    assert proc.returncode == EXIT_NO_EONAY
    assert f"eonay, {sshd.destination} üzerinde kurulu değil" in proc.stderr
    assert "pip install eonay" in proc.stderr
    assert_nothing_left(tmp_path / "tmp", before)


def test_a_failed_login_is_said_and_cleaned_up(sshd, softhsm_card, tmp_path):
    before = remote_sockets()
    argv = eonay_ssh(sshd, softhsm_card.module_path, "certs")
    argv[argv.index(str(sshd.key))] = str(tmp_path / "no-such-key")
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=local_env(tmp_path, LANG="en_US.UTF-8"),
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 255
    assert "Permission denied" in proc.stderr  # ssh's own reason
    assert f"ssh could not connect to {sshd.destination}" in proc.stderr
    assert_nothing_left(tmp_path / "tmp", before)


def test_no_card_module_here_is_said_before_connecting(sshd, tmp_path):
    logins = sshd.log.read_text().count("Accepted publickey")
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "--lang", "en", "ssh", "--module", "/nowhere/libakisp11.so",
         *sshd.ssh_options(), sshd.destination],
        capture_output=True, text=True, env=local_env(tmp_path), timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "no PKCS#11 module of a card was found on this computer" in proc.stderr
    assert "/nowhere/libakisp11.so" in proc.stderr
    assert sshd.log.read_text().count("Accepted publickey") == logins  # no connection was made
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_card_server_and_ssh_end_even_when_eonay_ssh_is_killed(sshd, softhsm_card, tmp_path):
    """SIGKILL leaves no way to clean up: the server and ssh still end with it (Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    before = remote_sockets()
    session, remote, server_side = _start_waiting_session(sshd, softhsm_card, tmp_path)
    try:
        [server] = [
            p for p in _p11kit(local_processes(tmp_path / "tmp")) if p.ppid() == session.pid
        ]
        session.kill()
        session.communicate(timeout=30)
        wait_until(lambda: gone([server]))
        wait_until(lambda: gone(server_side))  # ssh went too: the server side ended as usual
        assert not os.path.exists(remote)
        wait_until(lambda: not local_processes(tmp_path / "tmp"))
    finally:
        if session.poll() is None:
            session.kill()
        session.communicate()
        for leftover in (tmp_path / "tmp").glob("eonay-ssh-*"):  # the one thing SIGKILL leaves
            shutil.rmtree(leftover)
    assert_nothing_left(tmp_path / "tmp", before)


def test_the_language_asked_here_is_the_servers_too_unless_it_is_asked_there(
    sshd, softhsm_card, tmp_path
):
    def table(*words: str) -> str:
        argv = eonay_ssh(sshd, softhsm_card.module_path, *words)
        argv[argv.index("ssh") + 1 : argv.index("ssh") + 1] = ["--lang", "en"]
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=local_env(tmp_path), timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "Holder" in table("certs")
    assert "Sertifika Sahibi" in table("--lang", "tr", "certs")


@pytest.mark.parametrize(("tool", "package"), [("p11-kit", "p11-kit"), ("ssh", "openssh-client")])
def test_p11kit_or_ssh_missing_here_is_said(sshd, softhsm_card, tmp_path, tool, package):
    bin_dir = tmp_path / "bin"  # a PATH with everything this command runs but `tool`
    bin_dir.mkdir()
    for other in {"p11-kit", "ssh"} - {tool}:
        (bin_dir / other).symlink_to(shutil.which(other))
    proc = subprocess.run(
        eonay_ssh(sshd, softhsm_card.module_path, "certs"),
        capture_output=True,
        text=True,
        env=local_env(tmp_path, PATH=str(bin_dir), LANG="tr_TR.UTF-8"),
        timeout=120,
    )
    assert proc.returncode == 1
    assert f"eonay ssh: {tool} bu bilgisayarda kurulu değil" in proc.stderr
    assert f"apt-get install {package}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert_nothing_left(tmp_path / "tmp", remote_sockets())
