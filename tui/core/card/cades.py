"""CAdES-BES as the portal API's "The signature" section asks, and its self-check.

Building is split in two so the card is touched only for the one call that
needs it: `prepare()` decides *what bytes get signed* (the DER of the signed
attributes), a signer (the card, or a software key in tests and benches)
signs them, and `assemble()` wraps the result into CMS. `check_cms()` then
proves the CMS with `cryptography` before it may leave the signer: a card that
returns garbage is an error, not a submission. `build_cades()` is the one
pipeline that does all four, whoever the signer is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from asn1crypto import algos, cms, core, tsp, x509
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from tui.core.card import der
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


_OID_DATA = der.oid("1.2.840.113549.1.7.1")
_OID_SIGNED_DATA = der.oid("1.2.840.113549.1.7.2")
_OID_CONTENT_TYPE = der.oid("1.2.840.113549.1.9.3")
_OID_MESSAGE_DIGEST = der.oid("1.2.840.113549.1.9.4")
_OID_SIGNING_TIME = der.oid("1.2.840.113549.1.9.5")
_OID_SIGNING_CERTIFICATE_V2 = der.oid("1.2.840.113549.1.9.16.2.47")
_OID_CONTENT_IDENTIFIER = der.oid(CONTENT_IDENTIFIER_OID)
_HASH_OIDS = {
    "sha256": der.oid("2.16.840.1.101.3.4.2.1"),
    "sha384": der.oid("2.16.840.1.101.3.4.2.2"),
    "sha512": der.oid("2.16.840.1.101.3.4.2.3"),
}
_V1 = der.integer(1)


def _attribute(type_oid: bytes, value: bytes) -> bytes:
    """Attribute ::= SEQUENCE { attrType OID, attrValues SET OF (one value) }."""
    return der.tlv(der.SEQUENCE, type_oid, der.tlv(der.SET, value))


def _time(when: datetime) -> bytes:
    """RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime otherwise; whole seconds, Z."""
    if 1950 <= when.year < 2050:
        return der.tlv(der.UTC_TIME, when.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return der.tlv(der.GENERALIZED_TIME, f"{when.year:04d}{when:%m%d%H%M%S}Z".encode("ascii"))


def _signing_certificate_v2(cert_der: bytes, parts: der.CertificateParts) -> bytes:
    """ESS SigningCertificateV2 (RFC 5035) naming the signer certificate by hash and
    issuer/serial; hashAlgorithm left at its DEFAULT (SHA-256), so omitted in DER."""
    issuer_serial = der.tlv(
        der.SEQUENCE,
        der.tlv(der.SEQUENCE, der.tlv(der.context(4), parts.issuer)),  # directoryName [4]
        parts.serial,
    )
    cert_id = der.tlv(
        der.SEQUENCE, der.tlv(der.OCTET_STRING, hashlib.sha256(cert_der).digest()), issuer_serial
    )
    return der.tlv(der.SEQUENCE, der.tlv(der.SEQUENCE, cert_id))


def whole_seconds_utc(when: datetime) -> datetime:
    """The signing time as the signed attributes hold it: UTC, whole seconds."""
    return when.astimezone(UTC).replace(microsecond=0)


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
    parts = der.certificate_parts(cert_der)
    when = whole_seconds_utc(signing_time)
    attrs = der.set_of(
        [
            _attribute(_OID_CONTENT_TYPE, _OID_DATA),
            _attribute(
                _OID_MESSAGE_DIGEST,
                der.tlv(der.OCTET_STRING, hash_bytes(scheme.hash, content)),
            ),
            _attribute(_OID_SIGNING_TIME, _time(when)),
            _attribute(_OID_SIGNING_CERTIFICATE_V2, _signing_certificate_v2(cert_der, parts)),
            _attribute(_OID_CONTENT_IDENTIFIER, der.tlv(der.OCTET_STRING, bytes(nonce))),
        ]
    )
    return ToBeSigned(
        scheme=scheme,
        content=content,
        nonce=bytes(nonce),
        cert_der=cert_der,
        chain=tuple(chain),
        signing_time=when,
        signed_attrs=attrs,
    )


@lru_cache(maxsize=16)
def _signature_algorithm(scheme: Scheme) -> bytes:
    return bytes(scheme.signature_algorithm().dump())


def _digest_algorithm(hash_name: str) -> bytes:
    """AlgorithmIdentifier of the digest, with NULL parameters as asn1crypto writes it."""
    return der.tlv(der.SEQUENCE, _HASH_OIDS[hash_name], der.tlv(der.NULL))


def assemble(tbs: ToBeSigned, signature: bytes) -> bytes:
    """The ContentInfo/SignedData DER around `signature`.

    Written directly (see `tui.core.card.der`): the signed attributes go in
    exactly as they were signed, only their SET tag turned into [0] IMPLICIT.
    """
    signed_attrs = der.read_whole(tbs.signed_attrs, der.SET)
    parts = der.certificate_parts(tbs.cert_der)
    digest_algorithm = _digest_algorithm(tbs.scheme.hash)
    signer_info = der.tlv(
        der.SEQUENCE,
        _V1,
        der.tlv(der.SEQUENCE, parts.issuer, parts.serial),  # IssuerAndSerialNumber
        digest_algorithm,
        der.tlv(der.context(0), signed_attrs.content),
        _signature_algorithm(tbs.scheme),
        der.tlv(der.OCTET_STRING, signature),
    )
    certificates = [tbs.cert_der, *(c for c in tbs.chain if c != tbs.cert_der)]
    signed_data = der.tlv(
        der.SEQUENCE,
        _V1,
        der.set_of([digest_algorithm]),
        der.tlv(
            der.SEQUENCE,
            _OID_DATA,
            der.tlv(der.context(0), der.tlv(der.OCTET_STRING, tbs.content)),
        ),
        der.tlv(der.context(0), *sorted(certificates)),  # [0] IMPLICIT SET OF, in DER order
        der.set_of([signer_info]),
    )
    return der.tlv(der.SEQUENCE, _OID_SIGNED_DATA, der.tlv(der.context(0), signed_data))


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
    """prepare → sign → assemble → check: a CAdES-BES that is known to verify.

    The one pipeline: the card (`tui.core.card.pkcs11_card.card_signer`) and a software
    key (`software_signer`) are both just the `signer` here, as in pyHanko.
    """
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
    # An independent reading with asn1crypto's parser (the builder writes DER
    # itself). Raw bytes are taken with `.contents` before anything is
    # touched: asn1crypto re-encodes a parsed value on `dump()` once a child
    # was read, or when its length ends in 0x80 (see `tui.core.card.der`).
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
    signed_attrs = si["signed_attrs"]
    if signed_attrs.contents is None:
        raise _fail("no signed attributes")
    signed = der.tlv(der.SET, signed_attrs.contents)  # [0] IMPLICIT back to SET OF
    cert = x509.Certificate.load(cert_der, strict=True)
    tbs_cert = cert["tbs_certificate"]
    sid = si["sid"]
    if sid.name != "issuer_and_serial_number":
        raise _fail("signer not identified by issuer and serial")
    if (
        sid.chosen["issuer"].chosen.contents != tbs_cert["issuer"].chosen.contents
        or sid.chosen["serial_number"].native != tbs_cert["serial_number"].native
    ):
        raise _fail("signer identifier does not name the certificate")
    if not any(
        c.name == "certificate" and c.chosen.contents == cert.contents for c in sd["certificates"]
    ):
        raise _fail("signer certificate missing from certificates")
    hash_name = si["digest_algorithm"]["algorithm"].native
    if hash_name not in _HASHES:
        raise _fail(f"digest {hash_name} not allowed")
    attrs: dict[str, Any] = {}
    for attr in signed_attrs:
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
