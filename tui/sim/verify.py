"""The portal's check of a CAdES-BES answer, written from the spec alone.

Deliberately independent of the app's signature builder (`tui.core.card.cades`
is never imported here): the CMS is parsed with asn1crypto, and every
cryptographic check is done with `cryptography`, so a bug in the builder
cannot be mirrored by the checker. OIDs are compared in dotted form, so the
check does not depend on names that another module may register in
asn1crypto's tables.

`verify_signature` raises `VerificationError` whose `code` is the spec's
error code: `signature_invalid` for anything about the CMS, its content,
its attributes and its time; `certificate_rejected` for anything about the
signer certificate and its chain.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import algos as a_algos
from asn1crypto import cms as a_cms
from asn1crypto import core as a_core
from asn1crypto import tsp as a_tsp
from asn1crypto import x509 as a_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

SIGNATURE_INVALID = "signature_invalid"
CERTIFICATE_REJECTED = "certificate_rejected"

SIGNING_TIME_SLACK = timedelta(minutes=5)
MAX_CHAIN_DEPTH = 8

OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_DATA = "1.2.840.113549.1.7.1"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_CONTENT_IDENTIFIER = "1.2.840.113549.1.9.16.2.7"
OID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
_HASHLIB = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
_RSA_PSS = "1.2.840.113549.1.1.10"
_MGF1 = "1.2.840.113549.1.1.8"
_RSA_WITH: dict[str, str] = {  # sha*WithRSAEncryption -> its digest OID
    "1.2.840.113549.1.1.11": "2.16.840.1.101.3.4.2.1",
    "1.2.840.113549.1.1.12": "2.16.840.1.101.3.4.2.2",
    "1.2.840.113549.1.1.13": "2.16.840.1.101.3.4.2.3",
}
_ECDSA_WITH: dict[str, str] = {  # ecdsa-with-SHA* -> its digest OID
    "1.2.840.10045.4.3.2": "2.16.840.1.101.3.4.2.1",
    "1.2.840.10045.4.3.3": "2.16.840.1.101.3.4.2.2",
    "1.2.840.10045.4.3.4": "2.16.840.1.101.3.4.2.3",
}


class VerificationError(Exception):
    """A signature the portal refuses; `code` is the spec's error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _invalid(detail: str) -> VerificationError:
    return VerificationError(SIGNATURE_INVALID, detail)


def _rejected(detail: str) -> VerificationError:
    return VerificationError(CERTIFICATE_REJECTED, detail)


@dataclass(frozen=True)
class VerifiedSignature:
    """What the portal learns from an accepted signature."""

    certificate: x509.Certificate
    signing_time: datetime
    holder_serial: str | None  # subject serialNumber (the T.C. kimlik no on a NES)
    holder_name: str | None  # subject commonName


@dataclass(frozen=True)
class _Parsed:
    content: bytes
    signer: x509.Certificate
    others: list[x509.Certificate]
    digest_oid: str
    signature_oid: str
    signature_params: a_core.Asn1Value | None
    signature: bytes
    signed_bytes: bytes
    attrs: dict[str, bytes]


def _hash_class(oid: str, what: str) -> type[hashes.HashAlgorithm]:
    cls = _HASHES.get(oid)
    if cls is None:
        raise _invalid(f"{what} {oid} is not SHA-256, SHA-384 or SHA-512")
    return cls


def _set_of_bytes(tagged: bytes) -> bytes:
    """The DER the signature covers: the signed attributes re-tagged as a SET (RFC 5652 5.4)."""
    return b"\x31" + tagged[1:]


def _parse(cms_der: bytes) -> _Parsed:
    """Pull the parts out of the CMS; any structural problem is `signature_invalid`."""
    info = a_cms.ContentInfo.load(cms_der, strict=True)
    if info["content_type"].dotted != OID_SIGNED_DATA:
        raise _invalid("not a CMS SignedData")
    signed_data = info["content"]
    encap = signed_data["encap_content_info"]
    if encap["content_type"].dotted != OID_DATA:
        raise _invalid("the encapsulated content is not id-data")
    if not isinstance(encap["content"], a_core.OctetString) or encap["content"].native is None:
        raise _invalid("the content is not attached")
    content = bytes(encap["content"].native)

    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise _invalid(f"{len(signer_infos)} SignerInfos; exactly one is required")
    signer_info = signer_infos[0]
    sid = signer_info["sid"]
    if sid.name != "issuer_and_serial_number":
        raise _invalid("the signer is not identified by issuer and serial number")
    issuer = sid.chosen["issuer"]
    serial = sid.chosen["serial_number"].native

    certs: list[a_x509.Certificate] = [
        choice.chosen
        for choice in (signed_data["certificates"] or [])
        if choice.name == "certificate"
    ]
    signer_a = next((c for c in certs if c.serial_number == serial and c.issuer == issuer), None)
    if signer_a is None:
        raise _invalid("the signer certificate is not in the CMS")
    signer = x509.load_der_x509_certificate(signer_a.dump())
    others = [x509.load_der_x509_certificate(c.dump()) for c in certs if c is not signer_a]

    signed_attrs = signer_info["signed_attrs"]
    if not isinstance(signed_attrs, a_cms.CMSAttributes) or len(signed_attrs) == 0:
        raise _invalid("there are no signed attributes")
    attrs: dict[str, bytes] = {}
    for attr in signed_attrs:
        oid = attr["type"].dotted
        if oid in attrs:
            raise _invalid(f"the signed attribute {oid} appears twice")
        values = list(attr["values"])
        if len(values) != 1:
            raise _invalid(f"the signed attribute {oid} must have exactly one value")
        attrs[oid] = values[0].dump()

    algorithm = signer_info["signature_algorithm"]
    params = algorithm["parameters"]
    return _Parsed(
        content=content,
        signer=signer,
        others=others,
        digest_oid=signer_info["digest_algorithm"]["algorithm"].dotted,
        signature_oid=algorithm["algorithm"].dotted,
        signature_params=None if isinstance(params, a_core.Void) else params,
        signature=bytes(signer_info["signature"].native),
        signed_bytes=_set_of_bytes(signed_attrs.dump()),
        attrs=attrs,
    )


def _verify_signature_value(parsed: _Parsed) -> None:
    """The signer's key signed exactly the signed attributes, with an allowed algorithm."""
    key = parsed.signer.public_key()
    oid = parsed.signature_oid
    data, sig = parsed.signed_bytes, parsed.signature
    try:
        if oid == _RSA_ENCRYPTION or oid in _RSA_WITH:
            hash_oid = _RSA_WITH.get(oid, parsed.digest_oid)
            if not isinstance(key, rsa.RSAPublicKey):
                raise _invalid("an RSA signature algorithm with a non-RSA key")
            key.verify(sig, data, padding.PKCS1v15(), _hash_class(hash_oid, "the hash")())
        elif oid == _RSA_PSS:
            if not isinstance(key, rsa.RSAPublicKey):
                raise _invalid("RSASSA-PSS with a non-RSA key")
            if parsed.signature_params is None:
                raise _invalid("RSASSA-PSS without parameters")
            pss = a_algos.RSASSAPSSParams.load(parsed.signature_params.dump())
            hash_cls = _hash_class(pss["hash_algorithm"]["algorithm"].dotted, "the PSS hash")
            mgf = pss["mask_gen_algorithm"]
            if mgf["algorithm"].dotted != _MGF1:
                raise _invalid("RSASSA-PSS with a mask generation other than MGF1")
            mgf_hash = a_algos.DigestAlgorithm.load(mgf["parameters"].dump())
            mgf_cls = _hash_class(mgf_hash["algorithm"].dotted, "the MGF1 hash")
            if pss["trailer_field"].native not in ("trailer_field_bc", 1):
                raise _invalid("RSASSA-PSS with an unknown trailer field")
            salt = int(pss["salt_length"].native)
            key.verify(
                sig, data, padding.PSS(mgf=padding.MGF1(mgf_cls()), salt_length=salt), hash_cls()
            )
        elif oid in _ECDSA_WITH:
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise _invalid("an ECDSA signature algorithm with a non-EC key")
            key.verify(sig, data, ec.ECDSA(_hash_class(_ECDSA_WITH[oid], "the hash")()))
        else:
            raise _invalid(f"the signature algorithm {oid} is not allowed")
    except InvalidSignature:
        raise _invalid("the signature value does not verify with the signer's key") from None


def _attribute(parsed: _Parsed, oid: str, name: str) -> bytes:
    value = parsed.attrs.get(oid)
    if value is None:
        raise _invalid(f"the signed attribute {name} is missing")
    return value


def _check_attributes(
    parsed: _Parsed, *, text: str, nonce: bytes, window: tuple[datetime, datetime]
) -> datetime:
    """Content, digest, content-identifier, signing-certificate-v2 and signing-time."""
    content_type = a_core.ObjectIdentifier.load(
        _attribute(parsed, OID_CONTENT_TYPE, "content-type")
    )
    if content_type.dotted != OID_DATA:
        raise _invalid("the content-type attribute is not id-data")

    digest_oid = parsed.digest_oid
    _hash_class(digest_oid, "the digest algorithm")
    claimed = a_core.OctetString.load(_attribute(parsed, OID_MESSAGE_DIGEST, "message-digest"))
    actual = hashlib.new(_HASHLIB[digest_oid], parsed.content).digest()
    if not hmac.compare_digest(bytes(claimed.native), actual):
        raise _invalid("the message-digest does not match the content")

    if parsed.content != text.encode("utf-8"):
        raise _invalid("the signed content is not exactly the challenge's text")

    cid_value = _attribute(parsed, OID_CONTENT_IDENTIFIER, "content-identifier")
    content_identifier = bytes(a_core.OctetString.load(cid_value).native)
    if not hmac.compare_digest(content_identifier, nonce):
        raise _invalid("the content-identifier is not this challenge's nonce (replayed?)")

    ess_value = _attribute(parsed, OID_SIGNING_CERTIFICATE_V2, "signing-certificate-v2")
    ess = a_tsp.SigningCertificateV2.load(ess_value)
    cert_ids = ess["certs"]
    if len(cert_ids) == 0:
        raise _invalid("signing-certificate-v2 names no certificate")
    first = cert_ids[0]
    ess_hash = _HASHLIB.get(first["hash_algorithm"]["algorithm"].dotted)
    if ess_hash is None:
        raise _invalid("signing-certificate-v2 uses a hash weaker than SHA-256")
    signer_der = parsed.signer.public_bytes(Encoding.DER)
    if not hmac.compare_digest(
        bytes(first["cert_hash"].native), hashlib.new(ess_hash, signer_der).digest()
    ):
        raise _invalid("signing-certificate-v2 names another certificate than the signer's")
    issuer_serial = first["issuer_serial"]
    if (
        not isinstance(issuer_serial, a_core.Void)
        and issuer_serial.native is not None
        and issuer_serial["serial_number"].native != parsed.signer.serial_number
    ):
        raise _invalid("signing-certificate-v2 names another serial number")

    time_value = _attribute(parsed, OID_SIGNING_TIME, "signing-time")
    signing_time = a_x509.Time.load(time_value).native
    if not isinstance(signing_time, datetime) or signing_time.tzinfo is None:
        raise _invalid("the signing-time is not a time in UTC")
    earliest, latest = window
    if not earliest - SIGNING_TIME_SLACK <= signing_time <= latest + SIGNING_TIME_SLACK:
        raise _invalid("the signing-time is outside the challenge's time window")
    return signing_time.astimezone(UTC)


def _valid_at(cert: x509.Certificate, moment: datetime) -> bool:
    return cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _check_ca(cert: x509.Certificate, at: datetime, *, root: bool) -> None:
    name = cert.subject.rfc4514_string()
    if not _valid_at(cert, at):
        raise _rejected(f"the CA certificate {name} was not valid at signing-time")
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not constraints.ca:
            raise _rejected(f"{name} is not a CA certificate")
    except x509.ExtensionNotFound:
        if not root:
            raise _rejected(f"the intermediate {name} has no basicConstraints") from None
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.key_cert_sign:
            raise _rejected(f"{name} may not sign certificates")
    except x509.ExtensionNotFound:
        pass


def _check_chain(
    signer: x509.Certificate,
    others: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    at: datetime,
) -> None:
    """Walk issuer by issuer to a trusted root; roots come only from the portal's own list."""
    current = signer
    for _ in range(MAX_CHAIN_DEPTH):
        for root in roots:
            if _issued_by(current, root):
                _check_ca(root, at, root=True)
                return
        issuer = next((c for c in others if c is not current and _issued_by(current, c)), None)
        if issuer is None:
            raise _rejected("the certificate does not chain to a root the portal trusts")
        _check_ca(issuer, at, root=False)
        current = issuer
    raise _rejected("the certificate chain is too long")


def _check_certificate(
    parsed: _Parsed,
    signing_time: datetime,
    roots: Sequence[x509.Certificate],
    pool: Sequence[x509.Certificate],
    revoked: Collection[int],
) -> None:
    signer = parsed.signer
    if not _valid_at(signer, signing_time):
        raise _rejected("the signer certificate was not valid at signing-time")
    try:
        usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise _rejected("the signer certificate has no key usage") from None
    if not usage.content_commitment:
        raise _rejected("the signer certificate lacks nonRepudiation (contentCommitment)")
    _check_chain(signer, pool, roots, signing_time)
    if signer.serial_number in revoked:
        raise _rejected("the signer certificate is revoked")


def _subject_value(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    values = cert.subject.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def verify_signature(
    cms_der: bytes,
    *,
    text: str,
    nonce: bytes,
    window: tuple[datetime, datetime],
    trust_roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    revoked: Collection[int] = (),
) -> VerifiedSignature:
    """Accept `cms_der` as the answer to a challenge, or raise `VerificationError`.

    `window` is the challenge's (created_at, expires_at); signing-time may lie
    up to 5 minutes outside it. `intermediates` are CA certificates the portal
    knows besides those in the CMS (never trusted as roots by themselves).
    `revoked` holds revoked signer serial numbers.
    """
    try:
        parsed = _parse(cms_der)
    except VerificationError:
        raise
    except Exception as exc:  # hostile DER can fail anywhere inside asn1crypto
        raise _invalid(f"the CMS cannot be parsed: {type(exc).__name__}") from None
    try:
        _verify_signature_value(parsed)
        signing_time = _check_attributes(parsed, text=text, nonce=nonce, window=window)
    except VerificationError:
        raise
    except Exception as exc:  # a malformed attribute or parameter value
        raise _invalid(f"a signed attribute cannot be parsed: {type(exc).__name__}") from None
    _check_certificate(parsed, signing_time, trust_roots, [*parsed.others, *intermediates], revoked)
    return VerifiedSignature(
        certificate=parsed.signer,
        signing_time=signing_time,
        holder_serial=_subject_value(parsed.signer, NameOID.SERIAL_NUMBER),
        holder_name=_subject_value(parsed.signer, NameOID.COMMON_NAME),
    )
