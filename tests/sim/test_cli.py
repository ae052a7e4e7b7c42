"""`eonay portal-sim` as a person or a script runs it: a separate process on a free port."""

from __future__ import annotations

import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.sim.signing import software_holder
from tui.core.card_info import Signature
from tui.core.portal.client import PortalClient
from tui.sim.faults import HOSTILE_TEXTS
from tui.sim.pki import generate_pki


@contextmanager
def portal_sim(*args: str) -> Iterator[str]:
    """Start `eonay portal-sim ARGS`; yield the URL it printed; stop it with Ctrl-C."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "portal-sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "portal-sim printed no URL"
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url), url
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=10) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.stdout.read() == ""  # the URL was the only line on stdout


def test_runs_on_a_free_port_with_its_flags(tmp_path: Path):
    other = generate_pki("CLI Ek Kök", "CLI Ek Ara")
    extra_root = tmp_path / "extra-root.pem"
    extra_root.write_bytes(other.root.cert_pem)
    flags = ["--ttl", "120", "--fail-next", "1", "--fail-status", "503", "--hostile-text", "ansi"]
    with portal_sim("--port", "0", "--trust", str(extra_root), *flags) as url:
        faults = httpx.get(f"{url}api/v1/sim/faults").json()
        assert (faults["fail_next"], faults["fail_status"]) == (1, 503)
        challenge = httpx.post(f"{url}api/v1/sim/logins", json={}).json()
        assert challenge["text"] == HOSTILE_TEXTS["ansi"]
        created = datetime.fromisoformat(challenge["created_at"])
        assert (datetime.fromisoformat(challenge["expires_at"]) - created).total_seconds() == 120
        assert httpx.get(f"{url}api/v1/challenges/{challenge['code']}").status_code == 503
        httpx.post(f"{url}api/v1/sim/faults", json={"reset": True})

        # Both the default test root and the --trust one are trusted.
        with PortalClient(url) as client:
            for signer in (software_holder(), software_holder(issuer=other.intermediate)):
                code = httpx.post(f"{url}api/v1/sim/logins", json={}).json()["code"]
                got = client.get_challenge(code)
                cms = signer.sign(got.text, got.nonce)
                accepted = client.submit_login(got, Signature(cms, datetime.now(UTC), ""))
                assert accepted.holder.name == "DENEME KİŞİ"


@pytest.mark.parametrize(
    "args",
    [["--tls-cert", "x.pem"], ["--trust", "/nonexistent/root.pem"], ["--fail-status", "418"]],
)
def test_bad_flags_exit_with_a_message(args):
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "portal-sim", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip()
