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

import pytest

from tests.conftest import openssl_verify
from tests.sshd import (
    Sshd,
    assert_nothing_left,
    client_module,
    processes_using,
    remote_shell,
    remote_sockets,
    running_sshd,
    sshd_missing,
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


@pytest.fixture
def laptop_env(demo_card, tmp_path) -> dict[str, str]:
    (tmp_path / "tmp").mkdir()
    return {**demo_card.env, "TMPDIR": str(tmp_path / "tmp"), "XDG_STATE_HOME": str(tmp_path)}


def the_remote_card_is_the_forwarded_one(remote_socket: str) -> None:
    """The remote app's card process: p11-kit-client.so on the forwarded socket, no SoftHSM."""
    shell = remote_shell(remote_socket)
    assert shell is not None
    [card] = [p for p in shell.children(recursive=True) if "tui.core.card.process" in p.cmdline()]
    environ = card.environ()
    assert environ["P11_KIT_SERVER_ADDRESS"] == f"unix:path={remote_socket}"
    assert "SOFTHSM2_CONF" not in environ
    if os.geteuid() == 0:  # only root may read the maps of processes that are not dumpable
        libraries = {Path(m.path).name for m in card.memory_maps()}
        assert "p11-kit-client.so" in libraries
        assert "libsofthsm2.so" not in libraries


def test_the_whole_guide_over_eonay_ssh(sshd, laptop_env, portal, demo_card, tmp_path):
    from tests.e2e.terminal import Terminal

    remote_log = tmp_path / "remote" / "eonay.log"
    config = tmp_path / "remote.toml"  # the server's eonay logs here, not in the user's home
    config.write_text(f'[log]\nfile = "{remote_log}"\nlevel = "DEBUG"\n', encoding="utf-8")
    before = remote_sockets()
    record = portal.new_login()
    command = shlex.join(
        [
            sys.executable, "-m", "tui", "ssh", "--module", demo_card.module_path,
            "--remote-eonay", REMOTE_EONAY, *sshd.ssh_options(), sshd.destination,
            "--", "--portal", portal.url, "--lang", "tr", "--config", str(config),
        ]
    )  # fmt: skip
    terminal = Terminal(tmp_path, laptop_env)
    try:
        terminal.type(f"{command}; echo EXIT=$?")
        terminal.send("Enter")

        terminal.wait_for("Doğrulama Kodu", timeout=60)
        [remote] = remote_sockets() - before
        assert processes_using(tmp_path / "tmp")  # p11-kit server, on the laptop
        terminal.type(record.code)
        terminal.wait_for("14/14 hane")
        terminal.send("Enter")

        terminal.wait_for("Sertifika Seçiniz")
        terminal.wait_for("TEVFİK EDİS")
        the_remote_card_is_the_forwarded_one(remote)
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
            assert (
                openssl_verify(r.answer_cms, demo_card.root_pem, workdir=tmp_path)
                == r.text.encode()
            )

        terminal.send("Enter")  # Bitir: the remote app ends, then ssh, then eonay ssh
        terminal.wait_for("EXIT=0", timeout=60)
        assert remote not in remote_sockets()
        assert_nothing_left(tmp_path, before)
        log = remote_log.read_text(encoding="utf-8")
        assert " DEBUG " in log  # the remote app's own log, at the level asked
        assert demo_card.pin not in log
    finally:
        terminal.close()
