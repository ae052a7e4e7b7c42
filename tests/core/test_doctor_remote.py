"""`eonay doctor` on the server side of `eonay ssh`: the card is behind P11_KIT_SERVER_ADDRESS.

The real `p11-kit-client.so` is loaded each time, by the real `eonay doctor`
in a process of its own (the client module reads the address when it is
initialised). The good case is a real `p11-kit server` over the SoftHSM token;
the broken ones are what a person meets on a server: no socket at the path
(the `ssh -R` forward is not in place), a socket file nobody listens on (a
forward that has ended), a plain file there, and a socket that accepts and
hangs up at once, as sshd's end of a forward does when nothing listens on the
laptop's end.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.test_modules_p11kit import remote_env
from tests.core.test_p11kit import client_module, p11kit_server  # noqa: F401 (the fixture)
from tui.core.setup.remote_card import Link, probe_server, socket_path

pytestmark = pytest.mark.softhsm

REINSTALL_WORDS = ("reinstall", "Reinstall", "pcscd")


def doctor(address: str, home: Path) -> dict[str, Any]:
    if client_module() is None:
        pytest.skip("p11-kit-client.so is needed")
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "doctor", "--json"],
        capture_output=True,
        text=True,
        env={**remote_env(address, home), "EONAY_UI_LANGUAGE": "en"},
        timeout=60,
    )
    report: dict[str, Any] = json.loads(proc.stdout)
    assert (proc.returncode == 0) is report["ok"]
    return report


def check(report: dict[str, Any], id: str) -> dict[str, Any]:
    found = [c for c in report["checks"] if c["id"] == id]
    assert len(found) == 1, (id, report["checks"])
    return found[0]


def assert_laptop_advice(report: dict[str, Any], path: Path, words: str) -> None:
    assert not report["ok"]
    server = check(report, "p11kit-server")
    assert server["status"] == "error" and server["subject"] == str(path)
    assert words in server["detail"]
    assert "p11-kit server" in server["hint"] and "ssh -R" in server["hint"]
    assert "eonay ssh USER@HOST" in server["hint"]
    # every later problem points at the laptop; none says to reinstall a driver or to look
    # at pcscd on this machine
    problems = [c for c in report["checks"] if c["status"] != "ok" and c["id"] != "portal"]
    assert problems[0] is server and check(report, "certificates") in problems
    for later in problems[1:]:
        assert "laptop" in later["hint"], later
        assert not any(word in later["hint"] for word in REINSTALL_WORDS), later


def test_the_good_case_says_the_laptops_server_answers(
    p11kit_server: str,  # noqa: F811
    softhsm_card: Any,
    tmp_path: Path,
) -> None:
    report = doctor(p11kit_server, tmp_path)
    server = check(report, "p11kit-server")
    assert server["status"] == "ok" and "answers" in server["detail"]
    assert server["subject"] == socket_path(p11kit_server)
    assert check(report, "certificates")["status"] == "ok"


def test_no_socket_at_the_path_is_the_forward_not_in_place(tmp_path: Path) -> None:
    path = tmp_path / "eonay-card.sock"
    report = doctor(f"unix:path={path}", tmp_path)
    assert_laptop_advice(report, path, "not in place")


def test_a_dead_socket_file_is_a_forward_that_has_ended(tmp_path: Path) -> None:
    path = tmp_path / "eonay-card.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))  # bound, never listening, then closed: the file stays
    report = doctor(f"unix:path={path}", tmp_path)
    assert_laptop_advice(report, path, "refuses connections")


def test_a_plain_file_where_the_socket_should_be(tmp_path: Path) -> None:
    path = tmp_path / "eonay-card.sock"
    path.write_text("")
    report = doctor(f"unix:path={path}", tmp_path)
    assert_laptop_advice(report, path, "not a socket")


@pytest.fixture
def hangs_up(tmp_path: Path) -> Iterator[Path]:
    """A socket that accepts and closes at once: sshd's end of `-R` with no server behind it."""
    path = tmp_path / "forward.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_forward_with_nothing_behind_it(hangs_up: Path, tmp_path: Path) -> None:
    state = probe_server(f"unix:path={hangs_up}")
    assert state.link is Link.NO_ANSWER and state.path == str(hangs_up)
    report = doctor(f"unix:path={hangs_up}", tmp_path)
    assert_laptop_advice(report, hangs_up, "nothing answers")


def test_the_handshake_with_a_real_server(p11kit_server: str) -> None:  # noqa: F811
    assert probe_server(p11kit_server).link is Link.ANSWERS


def test_addresses() -> None:
    assert socket_path("unix:path=/run/user/1000/p11-kit/pkcs11-42") == (
        "/run/user/1000/p11-kit/pkcs11-42"
    )
    assert socket_path("unix:path=/tmp/a%20b.sock") == "/tmp/a b.sock"
    assert socket_path("vsock:cid=2;port=1111") is None
    assert probe_server("vsock:cid=2;port=1111").link is Link.NOT_UNIX
