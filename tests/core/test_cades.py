"""CAdES-BES build and self-check with software keys; OpenSSL is the independent judge."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

from tests.conftest import openssl_print, openssl_verify
from tui.core import cades
from tui.core.errors import SignatureCheckError
from tui.core.text import LOGIN_TEXT
from tui.sim.pki import generate_pki, generate_private_key, issue_certificate

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def fresh_pki(tmp_path_factory):
    """An unrelated PKI (not the committed one), written out for OpenSSL."""
    pki = generate_pki("Test Untrusted Kök", "Test Untrusted Ara")
    where = tmp_path_factory.mktemp("pki")
    pki.write(where)
    return pki, where / "root.pem"


def _holder(pki, key_type):
    key = generate_private_key(key_type)
    cert = issue_certificate(
        pki.intermediate,
        key.public_key(),
        common_name="HÜSEYİN GÜÇLÜ",
        national_id="10000000146",
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=10),
    )
    return key, cert.public_bytes(serialization.Encoding.DER)


def _build(pki, key_type, *, pss=False, text=LOGIN_TEXT, nonce=None):
    key, der = _holder(pki, key_type)
    nonce = nonce or secrets.token_bytes(32)
    cms_der = cades.build_cades(
        text,
        nonce,
        der,
        cades.software_signer(key),
        signing_time=NOW,
        chain=[pki.intermediate.cert_der],
        pss=pss,
    )
    return cms_der, der, nonce


@pytest.mark.parametrize(
    ("key_type", "pss", "algorithm"),
    [
        ("RSA-2048", False, "sha256WithRSAEncryption"),
        ("RSA-2048", True, "rsassaPss"),
        ("EC-P256", False, "ecdsa-with-SHA256"),
        ("EC-P384", False, "ecdsa-with-SHA384"),
    ],
)
def test_software_signatures_verify_in_openssl(fresh_pki, tmp_path, key_type, pss, algorithm):
    pki, root = fresh_pki
    cms_der, der, nonce = _build(pki, key_type, pss=pss)
    assert openssl_verify(cms_der, root, workdir=tmp_path) == LOGIN_TEXT.encode()
    assert algorithm in openssl_print(cms_der)
    checked = cades.check_cms(cms_der, LOGIN_TEXT, nonce, der)
    assert checked.signing_time == NOW


def test_structure_follows_the_spec(fresh_pki):
    pki, _ = fresh_pki
    cms_der, der, nonce = _build(pki, "EC-P256")
    info = cms.ContentInfo.load(cms_der)
    sd = info["content"]
    assert info["content_type"].native == "signed_data"
    assert sd["encap_content_info"]["content_type"].native == "data"
    assert sd["encap_content_info"]["content"].native == LOGIN_TEXT.encode("utf-8")
    assert len(sd["signer_infos"]) == 1
    si = sd["signer_infos"][0]
    assert si["version"].native == "v1"
    assert si["sid"].name == "issuer_and_serial_number"
    attrs = {a["type"].dotted: a["values"] for a in si["signed_attrs"]}
    assert set(attrs) == {
        "1.2.840.113549.1.9.3",  # content-type
        "1.2.840.113549.1.9.4",  # message-digest
        "1.2.840.113549.1.9.5",  # signing-time
        "1.2.840.113549.1.9.16.2.47",  # signing-certificate-v2
        "1.2.840.113549.1.9.16.2.7",  # content-identifier
    }
    assert attrs["1.2.840.113549.1.9.16.2.7"][0].native == nonce
    assert attrs["1.2.840.113549.1.9.4"][0].native == hashlib.sha256(LOGIN_TEXT.encode()).digest()
    ess = attrs["1.2.840.113549.1.9.16.2.47"][0]["certs"][0]
    assert ess["cert_hash"].native == hashlib.sha256(der).digest()
    certs = [c.chosen.dump() for c in sd["certificates"]]
    assert certs[0] == der and pki.intermediate.cert_der in certs


def _tamper(cms_der: bytes, edit) -> bytes:
    info = cms.ContentInfo.load(cms_der)
    edit(info["content"])
    return info.dump(force=True)


def test_check_refuses_a_signature_that_does_not_verify(fresh_pki):
    pki, _ = fresh_pki
    cms_der, der, nonce = _build(pki, "RSA-2048")

    def flip(sd):
        sig = bytearray(sd["signer_infos"][0]["signature"].native)
        sig[10] ^= 0xFF
        sd["signer_infos"][0]["signature"] = bytes(sig)

    with pytest.raises(SignatureCheckError):
        cades.check_cms(_tamper(cms_der, flip), LOGIN_TEXT, nonce, der)


def test_check_refuses_another_text_nonce_or_certificate(fresh_pki):
    pki, _ = fresh_pki
    cms_der, der, nonce = _build(pki, "EC-P256")
    with pytest.raises(SignatureCheckError, match="content"):
        cades.check_cms(cms_der, LOGIN_TEXT + " ", nonce, der)
    with pytest.raises(SignatureCheckError, match="nonce"):
        cades.check_cms(cms_der, LOGIN_TEXT, secrets.token_bytes(32), der)
    _, other = _holder(pki, "EC-P256")
    with pytest.raises(SignatureCheckError):
        cades.check_cms(cms_der, LOGIN_TEXT, nonce, other)


def test_check_refuses_garbage_without_other_exceptions():
    with pytest.raises(SignatureCheckError):
        cades.check_cms(b"\x30\x03\x02\x01", LOGIN_TEXT, b"n", b"")
    with pytest.raises(SignatureCheckError):
        cades.check_cms(b"", LOGIN_TEXT, b"n", b"")


def test_ecdsa_raw_to_der_round_trip():
    key = ec.generate_private_key(ec.SECP384R1())
    data = b"abc"
    der_sig = key.sign(data, ec.ECDSA(hashes.SHA384()))
    r, s = utils.decode_dss_signature(der_sig)
    raw = r.to_bytes(48, "big") + s.to_bytes(48, "big")
    assert cades.ecdsa_raw_to_der(raw) == der_sig
    with pytest.raises(SignatureCheckError):
        cades.ecdsa_raw_to_der(b"\x01\x02\x03")


@pytest.mark.parametrize("name", ["sha256", "sha384", "sha512"])
def test_digest_info_is_what_pkcs1_v15_signs(name):
    """Raw RSA over our DigestInfo equals cryptography's PKCS#1 v1.5 signature."""
    key = generate_private_key("RSA-2048")
    algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}
    expected = key.sign(b"data", padding.PKCS1v15(), algorithm[name])
    info = cades.digest_info(name, hashlib.new(name, b"data").digest())
    k = key.key_size // 8
    block = b"\x00\x01" + b"\xff" * (k - 3 - len(info)) + b"\x00" + info
    numbers = key.private_numbers()
    raw = pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n)
    assert raw.to_bytes(k, "big") == expected


def test_signing_time_after_2049_is_generalized_time(fresh_pki):
    pki, _ = fresh_pki
    _, der = _holder(pki, "EC-P256")
    tbs = cades.prepare("metin", b"n", der, signing_time=datetime(2051, 1, 1, tzinfo=UTC))
    attrs = cms.CMSAttributes.load(tbs.signed_attrs)
    when = next(a for a in attrs if a["type"].native == "signing_time")["values"][0]
    assert when.name == "generalized_time"


def test_a_fresh_pki_is_not_trusted_under_the_project_root(fresh_pki, tmp_path):
    from tui.sim.pki import default_root_pem

    pki, _ = fresh_pki
    cms_der, _, _ = _build(pki, "EC-P256")
    with pytest.raises(AssertionError, match="verify"):
        openssl_verify(cms_der, default_root_pem(), workdir=tmp_path)
