"""Certificate rejections produced for real: the real client posts to the simulator on loopback.

A card refuses to sign with these certificates, so the signatures come
from software keys (the project's builder); what is tested is the portal's
answer and the client's typed error.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from tests.sim.signing import SoftwareSigner, software_holder
from tui.core.card_info import Signature
from tui.core.errors import CertificateRejectedError, SignatureInvalidError
from tui.core.portal.client import PortalClient
from tui.sim.pki import default_pki, generate_pki
from tui.sim.server import RunningPortal
from tui.sim.state import PortalState, default_trust_roots


def post(client: PortalClient, sim: RunningPortal, signer: SoftwareSigner, **options):
    challenge = client.get_challenge(sim.new_login().code)
    cms = signer.sign(challenge.text, challenge.nonce, **options)
    return client.submit_login(challenge, Signature(cms, datetime.now(UTC), ""))


def test_expired_certificate(sim, client):
    now = datetime.now(UTC)
    signer = software_holder(
        not_before=now - timedelta(days=900), not_after=now - timedelta(days=1)
    )
    with pytest.raises(CertificateRejectedError) as info:
        post(client, sim, signer)
    assert info.value.status == 422
    assert "not valid at signing-time" in info.value.portal_message


def test_certificate_from_an_untrusted_ca(sim, client):
    other = generate_pki("Güvenilmeyen Kök", "Güvenilmeyen Ara")
    signer = software_holder(issuer=other.intermediate)
    with pytest.raises(CertificateRejectedError) as info:
        post(client, sim, signer)
    assert "does not chain" in info.value.portal_message


def test_more_trusted_roots_are_accepted(sim, client, sim_clock):
    """What `eonay portal-sim --trust other-root.pem` does."""
    other = generate_pki("Ek Kök", "Ek Ara")
    sim.reset(PortalState(clock=sim_clock, trust_roots=[*default_trust_roots(), other.root.cert]))
    signer = software_holder(issuer=other.intermediate, name="EK KİŞİ", national_id="34567890123")
    accepted = post(client, sim, signer)
    assert (accepted.holder.name, accepted.holder.serial) == ("EK KİŞİ", "34*******23")


def test_certificate_without_non_repudiation(sim, client):
    signer = software_holder(key_usage=("digitalSignature",))
    with pytest.raises(CertificateRejectedError) as info:
        post(client, sim, signer)
    assert "nonRepudiation" in info.value.portal_message


def test_revoked_certificate(sim, client):
    signer = software_holder()
    sim.state.revoked.add(x509.load_der_x509_certificate(signer.cert_der).serial_number)
    with pytest.raises(CertificateRejectedError, match="revoked"):
        post(client, sim, signer)


def test_certificate_without_a_holder_serial_number(sim, client):
    signer = software_holder(national_id="")
    with pytest.raises(CertificateRejectedError, match="serialNumber"):
        post(client, sim, signer)


def test_rsa_pss_and_ecdsa_are_accepted_over_http(sim, client):
    rsa = software_holder(key_type="RSA-2048", national_id="45678901234")
    assert post(client, sim, rsa, pss=True).holder.serial == "45*******34"
    ec = software_holder(key_type="EC-P384", national_id="56789012345")
    assert post(client, sim, ec).holder.serial == "56*******45"


def test_a_signature_that_does_not_verify(sim, client):
    signer = software_holder()
    challenge = client.get_challenge(sim.new_login().code)
    cms = bytearray(signer.sign(challenge.text, challenge.nonce))
    cms[-3] ^= 0x40  # inside the signature value, at the end of the DER
    with pytest.raises(SignatureInvalidError):
        client.submit_login(challenge, Signature(bytes(cms), datetime.now(UTC), ""))


def test_intermediate_left_out_of_the_cms_is_found_by_the_portal(sim, client):
    """The portal knows its own CA's intermediate, like the real one does."""
    ca = default_pki().intermediate
    signer = software_holder(issuer=ca, with_chain=False)
    assert post(client, sim, signer).holder.name == "DENEME KİŞİ"
