"""CAdES-BES as the portal API's "The signature" section asks, and its self-check.

Building is split in two so the card is touched only for the one call that
needs it: `prepare()` decides *what bytes get signed* (the DER of the signed
attributes), a signer (the card, or a software key in tests and benches)
signs them, and `assemble()` wraps the result into CMS. `check_cms()` then
proves the CMS with `cryptography` before it may leave the signer: a card that
returns garbage is an error, not a submission.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from asn1crypto import algos, cms, core, tsp, x509
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from tui.core.errors import SignatureCheckError

CONTENT_IDENTIFIER_OID = "1.2.840.113549.1.9.16.2.7"

# asn1crypto knows signing-certificate-v2 (through `tsp`) but not the ESS
# content-identifier: teach it the type, whose value is an OCTET STRING.
cms.CMSAttributeType._map.setdefault(CONTENT_IDENTIFIER_OID, "content_identifier")
cms.CMSAttribute._oid_specs.setdefault("content_identifier", cms.SetOfOctetString)
_ = tsp  # imported for its registration of signing_certificate_v2

HashName = Literal["sha256", "sha384", "sha512"]
KeyKind = Literal["rsa", "ec"]

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_DIGEST_INFO_PREFIX: dict[str, bytes] = {  # DER of DigestInfo up to the digest (RFC 8017 §9.2)
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}


def hash_bytes(hash_name: str, data: bytes) -> bytes:
    return hashlib.new(hash_name, data).digest()


def digest_info(hash_name: str, digest: bytes) -> bytes:
    """PKCS#1 v1.5 DigestInfo, for a token that only has CKM_RSA_PKCS."""
    return _DIGEST_INFO_PREFIX[hash_name] + digest


def ecdsa_raw_to_der(raw: bytes) -> bytes:
    """PKCS#11 CKM_ECDSA gives r‖s; CMS wants ECDSA-Sig-Value (DER SEQUENCE of r, s)."""
    if not raw or len(raw) % 2:
        raise SignatureCheckError(f"ECDSA signature of odd length {len(raw)}")
    half = len(raw) // 2
    r = int.from_bytes(raw[:half], "big")
    s = int.from_bytes(raw[half:], "big")
    return utils.encode_dss_signature(r, s)


@dataclass(frozen=True)
class Scheme:
    """How the signer must sign: key kind, hash, and RSA-PSS or not."""

    key: KeyKind
    hash: HashName
    pss: bool = False
    key_bits: int = 0

    @property
    def salt_length(self) -> int:
        return hashlib.new(self.hash).digest_size

    def signature_algorithm(self) -> algos.SignedDigestAlgorithm:
        if self.key == "ec":
            return algos.SignedDigestAlgorithm({"algorithm": f"{self.hash}_ecdsa"})
        if self.pss:
            return algos.SignedDigestAlgorithm(
                {
                    "algorithm": "rsassa_pss",
                    "parameters": algos.RSASSAPSSParams(
                        {
                            "hash_algorithm": {"algorithm": self.hash},
                            "mask_gen_algorithm": {
                                "algorithm": "mgf1",
                                "parameters": {"algorithm": self.hash},
                            },
                            "salt_length": self.salt_length,
                        }
                    ),
                }
            )
        return algos.SignedDigestAlgorithm(
            {"algorithm": f"{self.hash}_rsa", "parameters": core.Null()}
        )


def scheme_for(cert_der: bytes, *, pss: bool = False) -> Scheme:
    """The scheme a certificate's key calls for: EC hash matches the curve; RSA uses SHA-256."""
    key = cx509.load_der_x509_certificate(cert_der).public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return Scheme("rsa", "sha256", pss, key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        if pss:
            raise ValueError("RSA-PSS was asked for an EC key")
        size = key.curve.key_size
        hash_name: HashName = "sha256" if size <= 256 else "sha384" if size <= 384 else "sha512"
        return Scheme("ec", hash_name, False, size)
    raise ValueError(f"unsupported key type {type(key).__name__}")


@dataclass(frozen=True)
class ToBeSigned:
    """Everything of the CMS except the signature value."""

    scheme: Scheme
    content: bytes
    nonce: bytes
    cert_der: bytes
    chain: tuple[bytes, ...]
    signing_time: datetime
    signed_attrs: bytes  # DER of the SET OF signed attributes: the bytes that get signed

    def digest(self) -> bytes:
        """Hash of the signed attributes, for mechanisms that take a hash."""
        return hash_bytes(self.scheme.hash, self.signed_attrs)


Signer = Callable[[ToBeSigned], bytes]
"""Signs `tbs.signed_attrs` per `tbs.scheme`; returns the CMS signature value (DER for ECDSA)."""


def _signing_certificate_v2(cert: x509.Certificate) -> tsp.SigningCertificateV2:
    return tsp.SigningCertificateV2(
        {
            "certs": [
                {  # hashAlgorithm left at its DEFAULT (SHA-256), so omitted in DER
                    "cert_hash": hashlib.sha256(cert.dump()).digest(),
                    "issuer_serial": {
                        "issuer": [x509.GeneralName({"directory_name": cert.issuer})],
                        "serial_number": cert.serial_number,
                    },
                }
            ]
        }
    )


def prepare(
    text: str,
    nonce: bytes,
    cert_der: bytes,
    *,
    signing_time: datetime,
    chain: Sequence[bytes] = (),
    pss: bool = False,
) -> ToBeSigned:
    """Decide the bytes to be signed: the signed attributes of the CAdES-BES."""
    scheme = scheme_for(cert_der, pss=pss)
    content = text.encode("utf-8")
    cert = x509.Certificate.load(cert_der)
    when = signing_time.astimezone(UTC).replace(microsecond=0)
    time_choice = {"utc_time": when} if 1950 <= when.year < 2050 else {"generalized_time": when}
    attrs = cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["data"]},
            {"type": "message_digest", "values": [hash_bytes(scheme.hash, content)]},
            {"type": "signing_time", "values": [cms.Time(time_choice)]},
            {"type": "signing_certificate_v2", "values": [_signing_certificate_v2(cert)]},
            {"type": "content_identifier", "values": [bytes(nonce)]},
        ]
    )
    return ToBeSigned(
        scheme=scheme,
        content=content,
        nonce=bytes(nonce),
        cert_der=cert_der,
        chain=tuple(chain),
        signing_time=when,
        signed_attrs=bytes(attrs.dump()),
    )


def assemble(tbs: ToBeSigned, signature: bytes) -> bytes:
    """The ContentInfo/SignedData DER around `signature`."""
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
    certificates = [cert] + [x509.Certificate.load(der) for der in tbs.chain if der != tbs.cert_der]
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {"content_type": "data", "content": tbs.content},
            "certificates": [cms.CertificateChoices({"certificate": c}) for c in certificates],
            "signer_infos": [signer_info],
        }
    )
    info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    return bytes(info.dump())


def build_cades(
    text: str,
    nonce: bytes,
    cert_der: bytes,
    signer: Signer,
    *,
    signing_time: datetime,
    chain: Sequence[bytes] = (),
    pss: bool = False,
) -> bytes:
    """prepare → sign → assemble → check: a CAdES-BES that is known to verify."""
    tbs = prepare(text, nonce, cert_der, signing_time=signing_time, chain=chain, pss=pss)
    der = assemble(tbs, signer(tbs))
    check_cms(der, text, nonce, cert_der)
    return der


def software_signer(private_key: Any) -> Signer:
    """A signer over a `cryptography` private key (tests, benches, untrusted-CA cases)."""

    def sign(tbs: ToBeSigned) -> bytes:
        algorithm = _HASHES[tbs.scheme.hash]()
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            return private_key.sign(tbs.signed_attrs, ec.ECDSA(algorithm))
        if isinstance(private_key, rsa.RSAPrivateKey):
            pad: padding.AsymmetricPadding = (
                padding.PSS(padding.MGF1(algorithm), tbs.scheme.salt_length)
                if tbs.scheme.pss
                else padding.PKCS1v15()
            )
            return private_key.sign(tbs.signed_attrs, pad, algorithm)
        raise TypeError(f"unsupported key {type(private_key).__name__}")

    return sign


@dataclass(frozen=True)
class CheckedCms:
    signing_time: datetime
    hash: str
    signer_der: bytes


def _fail(reason: str) -> SignatureCheckError:
    return SignatureCheckError(f"CMS self-check failed: {reason}")


def check_cms(cms_der: bytes, text: str, nonce: bytes, cert_der: bytes) -> CheckedCms:
    """Prove a CAdES-BES: parses, signs exactly `text`, carries `nonce`, verifies under
    `cert_der`'s key. Raises SignatureCheckError (never anything else) when not."""
    try:
        return _check(cms_der, text, nonce, cert_der)
    except SignatureCheckError:
        raise
    except Exception as err:  # malformed DER of any kind is a failed check
        raise _fail(f"{type(err).__name__}: {err}") from None


def _check(cms_der: bytes, text: str, nonce: bytes, cert_der: bytes) -> CheckedCms:
    info = cms.ContentInfo.load(cms_der, strict=True)
    if info["content_type"].native != "signed_data":
        raise _fail("not SignedData")
    sd = info["content"]
    encap = sd["encap_content_info"]
    if encap["content_type"].native != "data":
        raise _fail("content is not id-data")
    content = encap["content"].native
    if content != text.encode("utf-8"):
        raise _fail("content differs from the text")
    if len(sd["signer_infos"]) != 1:
        raise _fail("not exactly one SignerInfo")
    si = sd["signer_infos"][0]
    cert = x509.Certificate.load(cert_der)
    sid = si["sid"]
    if sid.name != "issuer_and_serial_number":
        raise _fail("signer not identified by issuer and serial")
    if (
        sid.chosen["issuer"] != cert.issuer
        or sid.chosen["serial_number"].native != cert.serial_number
    ):
        raise _fail("signer identifier does not name the certificate")
    if not any(c.chosen.dump() == cert_der for c in sd["certificates"]):
        raise _fail("signer certificate missing from certificates")
    hash_name = si["digest_algorithm"]["algorithm"].native
    if hash_name not in _HASHES:
        raise _fail(f"digest {hash_name} not allowed")
    attrs: dict[str, Any] = {}
    for attr in si["signed_attrs"]:
        name = attr["type"].native
        if name in attrs or len(attr["values"]) != 1:
            raise _fail(f"attribute {name} repeated or multi-valued")
        attrs[name] = attr["values"][0]
    for needed in (
        "content_type",
        "message_digest",
        "signing_time",
        "signing_certificate_v2",
        "content_identifier",
    ):
        if needed not in attrs:
            raise _fail(f"signed attribute {needed} missing")
    if attrs["content_type"].native != "data":
        raise _fail("content-type attribute is not id-data")
    if attrs["message_digest"].native != hash_bytes(hash_name, content):
        raise _fail("message-digest does not match the content")
    if attrs["content_identifier"].native != bytes(nonce):
        raise _fail("content-identifier is not the nonce")
    ess = attrs["signing_certificate_v2"]["certs"][0]
    ess_hash = ess["hash_algorithm"]["algorithm"].native
    if ess["cert_hash"].native != hash_bytes(ess_hash, cert_der):
        raise _fail("signing-certificate-v2 names another certificate")
    signed = b"\x31" + si["signed_attrs"].dump()[1:]  # [0] IMPLICIT back to SET OF
    _verify(cert_der, si, hash_name, signed)
    return CheckedCms(attrs["signing_time"].native, hash_name, cert_der)


def _verify(cert_der: bytes, si: cms.SignerInfo, hash_name: str, signed: bytes) -> None:
    key = cx509.load_der_x509_certificate(cert_der).public_key()
    algo = si["signature_algorithm"]
    algo_name = algo["algorithm"].native
    signature = si["signature"].native
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            if algo_name != f"{hash_name}_ecdsa":
                raise _fail(f"algorithm {algo_name} with digest {hash_name}")
            key.verify(signature, signed, ec.ECDSA(_HASHES[hash_name]()))
        elif isinstance(key, rsa.RSAPublicKey):
            if algo_name == "rsassa_pss":
                params = algo["parameters"]
                if params["hash_algorithm"]["algorithm"].native != hash_name:
                    raise _fail("PSS hash differs from the digest algorithm")
                pad: padding.AsymmetricPadding = padding.PSS(
                    padding.MGF1(_HASHES[hash_name]()), params["salt_length"].native
                )
            elif algo_name in (f"{hash_name}_rsa", "rsa"):
                pad = padding.PKCS1v15()
            else:
                raise _fail(f"algorithm {algo_name} with digest {hash_name}")
            key.verify(signature, signed, pad, _HASHES[hash_name]())
        else:
            raise _fail("unsupported signer key")
    except InvalidSignature:
        raise _fail("the signature does not verify under the certificate's key") from None
