"""`eonay ssh` in a real terminal: the whole guide on "the server", the card on "the laptop".

tmux is the laptop's terminal; `eonay ssh` starts p11-kit server for the demo
card, logs in to a real sshd on 127.0.0.1 (tests/sshd.py) and runs the app
there in a terminal of its own (`ssh -t`). The remote app reaches the card
only through the forwarded socket: sshd gives it no SoftHSM configuration.
Afterwards no socket and no process of the session is left on either side.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import openssl_verify
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
    running_sshd,
    sshd_missing,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REMOTE_EONAY = str(Path(sys.executable).with_name("eonay"))


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Iterator[Sshd]:
    why = sshd_missing() or (None if client_module() else "p11-kit-client.so is not installed")
    if why:
        pytest.skip(why)
    with running_sshd(tmp_path_factory.mktemp("sshd")) as running:
        yield running


def eonay_ssh_line(sshd: Sshd, demo_card, tmpdir: Path, *eonay_args: str) -> str:
    """What is typed at the laptop's prompt; TMPDIR marks this side's processes and files."""
    tmpdir.mkdir(exist_ok=True)
    argv = [
        sys.executable, "-m", "tui", "ssh", "--module", demo_card.module_path,
        "--remote-eonay", REMOTE_EONAY, *sshd.ssh_options(), sshd.destination,
        "--", *eonay_args,
    ]  # fmt: skip
    return f"TMPDIR={shlex.quote(str(tmpdir))} {shlex.join(argv)}; echo EXIT=$?"


def remote_config(tmp_path: Path) -> Path:
    """The server's eonay logs here, at DEBUG, not in the user's home."""
    config = tmp_path / "remote.toml"
    config.write_text(
        f'[log]\nfile = "{tmp_path / "remote.log"}"\nlevel = "DEBUG"\n', encoding="utf-8"
    )
    return config


def the_remote_card_is_the_forwarded_one(server_side: list[psutil.Process], socket: str) -> None:
    """The remote app's card process: p11-kit-client.so on the forwarded socket, no SoftHSM."""
    [card] = [p for p in server_side if "tui.core.card.process" in cmdline(p)]
    environ = card.environ()
    assert environ["P11_KIT_SERVER_ADDRESS"] == f"unix:path={socket}"
    assert "SOFTHSM2_CONF" not in environ
    if os.geteuid() == 0:  # only root may read the maps of processes that are not dumpable
        libraries = {Path(m.path).name for m in card.memory_maps()}
        assert "p11-kit-client.so" in libraries
        assert "libsofthsm2.so" not in libraries


def test_the_whole_guide_over_eonay_ssh(sshd, portal, demo_card, tmp_path):
    from tests.e2e.terminal import Terminal

    tmpdir = tmp_path / "tmp"
    before = remote_sockets()
    record = portal.new_login()
    terminal = Terminal(tmp_path, demo_card.env)
    try:
        terminal.type(
            eonay_ssh_line(
                sshd, demo_card, tmpdir,
                "--portal", portal.url, "--lang", "tr", "--config", str(remote_config(tmp_path)),
            )
        )  # fmt: skip
        terminal.send("Enter")

        terminal.wait_for("Doğrulama Kodu", timeout=60)
        [remote] = remote_sockets() - before
        terminal.type(record.code)
        terminal.wait_for("14/14 hane")
        terminal.send("Enter")

        terminal.wait_for("Sertifika Seçiniz")
        terminal.wait_for("TEVFİK EDİS")
        server_side = remote_session(remote)
        the_remote_card_is_the_forwarded_one(server_side, remote)
        terminal.send("Enter")

        terminal.wait_for("İmzalanacak Metin")
        terminal.type(demo_card.pin)
        terminal.wait_for("*" * len(demo_card.pin))
        terminal.send("Enter")

        terminal.wait_for("E-ONAY İşlemleri")
        terminal.send("Enter")
        terminal.wait_for("Devam Et")
        terminal.send("Enter")

        terminal.wait_for("İmza: E-Onay")
        terminal.type(demo_card.pin)
        terminal.wait_for("*" * len(demo_card.pin))
        terminal.send("Enter")  # the E-Onay text is longer than its box at 80x24: the rest first
        terminal.wait_for("Metnin sonu bu: Enter ile imzalayın.")
        terminal.send("Enter")

        done = terminal.wait_for("E-Onay'ınız artık etkin.")
        [holder] = portal.state.holders()
        assert holder.e_onay_active and holder.reference
        assert holder.reference in done
        answered = portal.state.answered()
        assert [r.purpose for r in answered] == ["login", "e-onay"]
        for r in answered:
            assert r.answer["status"] == "accepted"
            verified = openssl_verify(r.answer_cms, demo_card.root_pem, workdir=tmp_path)
            assert verified == r.text.encode()

        terminal.send("Enter")  # Bitir: the remote app ends, then ssh, then eonay ssh
        terminal.wait_for("EXIT=0", timeout=60)
        wait_until(lambda: gone(server_side))
        assert_nothing_left(tmpdir, before)
        log = (tmp_path / "remote.log").read_text(encoding="utf-8")
        assert " DEBUG " in log  # the remote app's own log, at the level asked
        assert demo_card.pin not in log
    finally:
        terminal.close()


@pytest.mark.parametrize("ending", ["ctrl+q", "hang-up"])
def test_quitting_or_a_hang_up_mid_flow_leaves_nothing_behind(
    sshd, portal, demo_card, tmp_path, ending
):
    """Ctrl+Q reaches the remote app (ssh's terminal is raw), which ends, and all of it
    with it. A hang-up (the laptop's terminal closed: ssh and eonay ssh get SIGHUP) ends
    the connection; the server's terminal is hung up, which ends the remote app, since it
    is that terminal's session leader, and the socket's watcher then removes the socket."""
    from tests.e2e.terminal import Terminal

    tmpdir = tmp_path / "tmp"
    before = remote_sockets()
    terminal = Terminal(tmp_path, demo_card.env)
    try:
        terminal.type(
            eonay_ssh_line(
                sshd, demo_card, tmpdir,
                "--portal", portal.url, "--lang", "tr", "--config", str(remote_config(tmp_path)),
            )
        )  # fmt: skip
        terminal.send("Enter")
        terminal.wait_for("Doğrulama Kodu", timeout=60)
        [remote] = remote_sockets() - before
        server_side = wait_until(lambda: remote_session(remote))
        terminal.type("1234")
        terminal.wait_for("4/14 hane")
        if ending == "ctrl+q":
            terminal.send("C-q")
            terminal.wait_for("EXIT=0", timeout=60)
        else:
            terminal.hang_up()
        wait_until(lambda: gone(server_side))
        wait_until(lambda: not local_processes(tmpdir))
        assert not os.path.exists(remote)
        assert_nothing_left(tmpdir, before)
    finally:
        terminal.close()


def test_ctrl_c_while_ssh_connects_ends_it_all(sshd, demo_card, tmp_path):
    """Before the server's eonay has the terminal, Ctrl+C is the laptop's: the terminal
    sends SIGINT to `eonay ssh` and ssh (here still waiting on a connection that a
    ProxyCommand holds up), and everything stops."""
    from tests.e2e.terminal import Terminal

    tmpdir = tmp_path / "tmp"
    line = eonay_ssh_line(sshd, demo_card, tmpdir, "certs")
    line = line.replace(" -- certs", " -o 'ProxyCommand=sleep 120' -- certs")
    terminal = Terminal(tmp_path, demo_card.env)
    try:
        terminal.type(line)
        terminal.send("Enter")
        wait_until(
            lambda: {"p11-kit-server", "ssh", "sleep"} <= {name(p) for p in local_processes(tmpdir)}
        )
        terminal.send("C-c")
        terminal.wait_for("EXIT=130", timeout=30)
        wait_until(lambda: not local_processes(tmpdir))
        assert_nothing_left(tmpdir, remote_sockets())
    finally:
        terminal.close()
