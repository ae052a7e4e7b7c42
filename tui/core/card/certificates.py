"""What a certificate on the card is to a person: holder, qualified, valid, usable, and why not.

A certificate is a *qualified signature certificate* (NES) when its key usage
has nonRepudiation and it carries either the ETSI QcCompliance statement
(0.4.0.1862.1.1) or the Turkish individual NES policy
(2.16.792.1.61.0.1.5070.1.1). It is *usable* when it is qualified, valid now,
its private key is on the card and the card's PIN is not locked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tui.core import reasons
from tui.core.card_info import CertificateInfo, PinState, TokenInfo

QC_STATEMENTS_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")
QC_COMPLIANCE_OID = "0.4.0.1862.1.1"
NES_POLICY_OID = "2.16.792.1.61.0.1.5070.1.1"

_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_KEY_USAGE_NAMES = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)
_NATIONAL_ID = re.compile(r"(?:^|\D)([1-9]\d{10})$")


class _QcStatement(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("statement_id", core.ObjectIdentifier),
        ("statement_info", core.Any, {"optional": True}),
    ]


class _QcStatements(core.SequenceOf):  # type: ignore[misc]
    _child_spec = _QcStatement


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    attrs = name.get_attributes_for_oid(oid)
    if not attrs:
        return None
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def national_id_of(cert: x509.Certificate) -> str | None:
    """The T.C. kimlik no from the subject serialNumber (11 digits, maybe after a prefix)."""
    serial = _first(cert.subject, NameOID.SERIAL_NUMBER)
    if not serial:
        return None
    match = _NATIONAL_ID.search(serial.strip())
    return match.group(1) if match else None


def mask_national_id(national_id: str | None) -> str:
    """`13*******72`: the first and last two digits, as the portal shows it."""
    if not national_id:
        return ""
    if len(national_id) <= 4:
        return "*" * len(national_id)
    return national_id[:2] + "*" * (len(national_id) - 4) + national_id[-2:]


def key_description(cert: x509.Certificate) -> str:
    """`RSA 2048`, `EC P-384`."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {_CURVES.get(key.curve.name, key.curve.name)}"
    return type(key).__name__.replace("PublicKey", "").lstrip("_")


def key_usage_of(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(name for attr, name in _KEY_USAGE_NAMES if getattr(ku, attr))


def qc_statement_ids(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_oid(QC_STATEMENTS_OID).value
    except x509.ExtensionNotFound:
        return ()
    raw = ext.value if isinstance(ext, x509.UnrecognizedExtension) else ext.public_bytes()
    try:
        parsed = _QcStatements.load(raw)
        return tuple(str(s["statement_id"].dotted) for s in parsed)
    except (ValueError, TypeError):
        return ()


def policy_ids(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(p.policy_identifier.dotted_string for p in policies)


def is_qualified(cert: x509.Certificate) -> bool:
    """nonRepudiation plus QcCompliance or the Turkish NES policy."""
    if "nonRepudiation" not in key_usage_of(cert):
        return False
    return QC_COMPLIANCE_OID in qc_statement_ids(cert) or NES_POLICY_OID in policy_ids(cert)


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _supported_key(cert: x509.Certificate) -> bool:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return key.key_size >= 2048
    return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _CURVES


@dataclass(frozen=True)
class CertFacts:
    """What a certificate says about itself: parsed once per DER, then cached."""

    holder: str
    national_id: str | None
    issuer: str
    not_before: datetime
    not_after: datetime
    key: str
    key_usage: tuple[str, ...]
    fingerprint_sha256: str
    qualified: bool
    is_ca: bool
    supported_key: bool


@lru_cache(maxsize=512)
def facts(der: bytes) -> CertFacts:
    """Parse `der` (ValueError when it is not a certificate); cached, as the list is
    re-read about once a second."""
    cert = x509.load_der_x509_certificate(der)
    return CertFacts(
        holder=_first(cert.subject, NameOID.COMMON_NAME) or cert.subject.rfc4514_string(),
        national_id=national_id_of(cert),
        issuer=_first(cert.issuer, NameOID.COMMON_NAME) or cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key=key_description(cert),
        key_usage=key_usage_of(cert),
        fingerprint_sha256=hashlib.sha256(der).hexdigest(),
        qualified=is_qualified(cert),
        is_ca=is_ca(cert),
        supported_key=_supported_key(cert),
    )


def certificate_info(
    der: bytes,
    *,
    token: TokenInfo,
    cka_id: bytes,
    label: str,
    has_private_key: bool,
    always_authenticate: bool = False,
    now: datetime | None = None,
    pin_state: PinState | None = None,
    chain: tuple[bytes, ...] = (),
) -> CertificateInfo:
    """A CertificateInfo for one certificate on `token`, with the reason it cannot sign."""
    f = facts(der)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    valid_now = f.not_before <= moment <= f.not_after
    state = pin_state or token.pin_state
    reason: str | None = None
    if moment > f.not_after:
        reason = reasons.EXPIRED
    elif moment < f.not_before:
        reason = reasons.NOT_YET_VALID
    elif not f.qualified:
        reason = reasons.NOT_QUALIFIED
    elif not f.supported_key:
        reason = reasons.UNSUPPORTED_KEY
    elif not has_private_key:
        reason = reasons.NO_PRIVATE_KEY
    elif state.locked:
        reason = reasons.PIN_LOCKED
    return CertificateInfo(
        token=token,
        id=cka_id,
        label=label,
        der=der,
        holder=f.holder,
        national_id=f.national_id,
        serial_masked=mask_national_id(f.national_id),
        issuer=f.issuer,
        not_before=f.not_before,
        not_after=f.not_after,
        key=f.key,
        key_usage=f.key_usage,
        fingerprint_sha256=f.fingerprint_sha256,
        qualified=f.qualified,
        valid_now=valid_now,
        has_private_key=has_private_key,
        always_authenticate=always_authenticate,
        reason=reason,
        chain=chain,
    )


def ordered(certs: Iterable[CertificateInfo]) -> list[CertificateInfo]:
    """Usable first; then by holder, newest expiry first; stable for equal ones."""
    return sorted(
        certs,
        key=lambda c: (not c.usable, c.holder, -c.not_after.timestamp(), c.token.key, c.id),
    )
