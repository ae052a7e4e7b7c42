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
from tui.core.card import cades
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


def _asn1crypto_cms(tbs: cades.ToBeSigned, signature: bytes) -> bytes:
    """The same CMS through asn1crypto's object model: what the DER writer must equal."""
    from asn1crypto import algos, x509

    cert = x509.Certificate.load(tbs.cert_der)
    digest_algorithm = algos.DigestAlgorithm({"algorithm": tbs.scheme.hash})
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": cert.issuer,
                        "serial_number": cert.serial_number,
                    }
                }
            ),
            "digest_algorithm": digest_algorithm,
            "signed_attrs": cms.CMSAttributes.load(tbs.signed_attrs),
            "signature_algorithm": tbs.scheme.signature_algorithm(),
            "signature": signature,
        }
    )
    chain = [cert] + [x509.Certificate.load(d) for d in tbs.chain if d != tbs.cert_der]
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {"content_type": "data", "content": tbs.content},
            "certificates": [cms.CertificateChoices({"certificate": c}) for c in chain],
            "signer_infos": [signer_info],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def _lengths(data: bytes, start: int = 0, stop: int | None = None) -> list[int]:
    """Every content length in a DER tree (constructed elements walked down)."""
    from tui.core.card import der

    out = []
    stop = len(data) if stop is None else stop
    at = start
    while at < stop:
        element = der.read(data, at, stop)
        out.append(element.end - element.content_start)
        if element.tag & 0x20:
            out += _lengths(data, element.content_start, element.end)
        at = element.end
    return out


def test_cms_around_signatures_of_every_length_is_well_formed(fresh_pki):
    """The CMS is right whatever the signature's length, also where a length's last octet is
    0x80 (which asn1crypto took for an indefinite length: the 72-byte ECDSA slowness)."""
    pki, _ = fresh_pki
    _, der_cert = _holder(pki, "EC-P256")
    tbs = cades.prepare(
        LOGIN_TEXT, b"n" * 32, der_cert, signing_time=NOW, chain=[pki.intermediate.cert_der]
    )
    boundary_hit = False
    for size in range(60, 140):
        signature = secrets.token_bytes(size)
        built = cades.assemble(tbs, signature)
        assert built == _asn1crypto_cms(tbs, signature)
        si = cms.ContentInfo.load(built, strict=True)["content"]["signer_infos"][0]
        assert si["signature"].native == signature
        assert si["signed_attrs"].contents == tbs.signed_attrs[2 + (tbs.signed_attrs[1] & 0x7F) :]
        boundary_hit |= any(n > 0x7F and n & 0xFF == 0x80 for n in _lengths(built))
    assert boundary_hit  # the case that was slow is among those checked


def test_signed_attributes_are_what_asn1crypto_encodes(fresh_pki):
    from asn1crypto import tsp, x509

    pki, _ = fresh_pki
    _, der_cert = _holder(pki, "RSA-2048")
    nonce = secrets.token_bytes(32)
    for when in (NOW, datetime(2051, 1, 1, tzinfo=UTC)):
        tbs = cades.prepare(LOGIN_TEXT, nonce, der_cert, signing_time=when)
        cert = x509.Certificate.load(der_cert)
        ess = tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        "cert_hash": hashlib.sha256(der_cert).digest(),
                        "issuer_serial": {
                            "issuer": [x509.GeneralName({"directory_name": cert.issuer})],
                            "serial_number": cert.serial_number,
                        },
                    }
                ]
            }
        )
        time_choice = {"utc_time": when} if when.year < 2050 else {"generalized_time": when}
        expected = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["data"]},
                {
                    "type": "message_digest",
                    "values": [hashlib.sha256(LOGIN_TEXT.encode()).digest()],
                },
                {"type": "signing_time", "values": [cms.Time(time_choice)]},
                {
                    "type": "signing_certificate_v2",
                    "values": [tsp.SigningCertificateV2.load(ess.dump())],
                },
                {"type": "content_identifier", "values": [nonce]},
            ]
        ).dump()
        assert tbs.signed_attrs == expected


def test_many_p256_signatures_verify_whatever_their_length(fresh_pki, tmp_path):
    """About one P-256 ECDSA signature in four is 72 bytes once DER-encoded; sign until
    every length turned up, each checked, and OpenSSL checks one of each length."""
    pki, root = fresh_pki
    key, der_cert = _holder(pki, "EC-P256")
    signer = cades.software_signer(key)
    seen: dict[int, tuple[bytes, bytes]] = {}
    for _ in range(64):
        nonce = secrets.token_bytes(32)
        captured: list[bytes] = []

        def sign(tbs, captured=captured):
            captured.append(signer(tbs))
            return captured[-1]

        built = cades.build_cades(
            LOGIN_TEXT, nonce, der_cert, sign, signing_time=NOW, chain=[pki.intermediate.cert_der]
        )
        seen.setdefault(len(captured[0]), (built, nonce))
    assert 72 in seen and 71 in seen
    for built, nonce in seen.values():
        assert openssl_verify(built, root, workdir=tmp_path) == LOGIN_TEXT.encode()
        assert cades.check_cms(built, LOGIN_TEXT, nonce, der_cert).hash == "sha256"
