"""HTTPS: the simulator under uvicorn with a generated certificate for 127.0.0.1 (trustme)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.sim.signing import answer
from tui.core.errors import ConfigError, TLSError
from tui.core.portal.client import PortalClient
from tui.sim.server import RunningPortal, running_portal


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _write(ca: trustme.CA, directory: Path, *identities: str) -> tuple[Path, Path]:
    leaf = ca.issue_cert(*identities)
    cert, key = directory / "server.pem", directory / "server.key"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    for extra in leaf.cert_chain_pems[1:]:
        extra.write_to_path(str(cert), append=True)
    return cert, key


@pytest.fixture(scope="module")
def ca_bundle(ca: trustme.CA, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def https_portal(ca: trustme.CA, tmp_path_factory) -> Iterator[RunningPortal]:
    cert, key = _write(ca, tmp_path_factory.mktemp("tls"), "127.0.0.1")
    with running_portal(ssl_certfile=cert, ssl_keyfile=key) as portal:
        assert portal.url.startswith("https://127.0.0.1:")
        yield portal


def test_refused_without_the_ca_bundle(https_portal: RunningPortal, sleeps):
    code = https_portal.new_login().code
    with PortalClient(https_portal.url, sleep=sleeps) as portal, pytest.raises(TLSError) as info:
        portal.get_challenge(code)
    assert "certificate" in info.value.user_message()
    assert sleeps == []  # a certificate that does not verify is not retried


def test_accepted_with_the_ca_bundle(https_portal: RunningPortal, ca_bundle: Path):
    record = https_portal.new_login()
    with PortalClient(https_portal.url, ca_bundle=ca_bundle) as portal:
        assert portal.get_challenge(record.code).nonce == record.nonce


@pytest.mark.softhsm
def test_signed_login_over_https_survives_a_dropped_connection(
    https_portal: RunningPortal, ca_bundle: Path, card, softhsm_card, sleeps
):
    """A TLS connection cut after the portal accepted is a retry, not a certificate error."""
    person = softhsm_card.holder("İLKNUR ÇAĞLAR", key_type="EC-P384", usable=True)
    with PortalClient(https_portal.url, ca_bundle=ca_bundle, sleep=sleeps) as portal:
        challenge = portal.get_challenge(https_portal.new_login().code)
        signature = answer(card, softhsm_card, person, challenge)
        https_portal.faults.drop_next_signature(1)
        accepted = portal.submit_login(challenge, signature)
    assert accepted.holder.name == person.name
    assert sleeps == [0.5]


def test_certificate_for_another_name(ca: trustme.CA, ca_bundle: Path, tmp_path: Path):
    cert, key = _write(ca, tmp_path, "portal.example")
    with (
        running_portal(ssl_certfile=cert, ssl_keyfile=key) as other,
        PortalClient(other.url, ca_bundle=ca_bundle) as portal,
        pytest.raises(TLSError),
    ):
        portal.get_challenge(other.new_login().code)


def test_https_to_a_plain_http_server(sim: RunningPortal, ca_bundle: Path):
    url = sim.url.replace("http://", "https://")
    with PortalClient(url, ca_bundle=ca_bundle) as portal, pytest.raises(TLSError):
        portal.get_challenge(sim.new_login().code)


def test_unreadable_ca_bundle_is_a_configuration_error(tmp_path: Path):
    (tmp_path / "bad.pem").write_text("not a certificate")
    for bundle in (tmp_path / "missing.pem", tmp_path / "bad.pem"):
        with pytest.raises(ConfigError):
            PortalClient("https://127.0.0.1:1/", ca_bundle=bundle)
