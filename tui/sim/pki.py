"""The project's test PKI: a root, an intermediate and holder certificates.

Everything is made with `cryptography`. The default root and intermediate
(cert and key, TEST ONLY) are committed under `tui/sim/testpki/` so the
portal simulator trusts "the project's test root" out of the box and the demo
can issue holders under it; `generate_pki()` makes a fresh, unrelated PKI
(an untrusted CA for tests). Holders get Turkish names and valid T.C. kimlik
numbers, like the qualified certificates Kamu SM issues.

Regenerate the committed default with `python -m tui.sim.pki`.
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

TESTPKI_DIR = Path(__file__).resolve().parent / "testpki"

ROOT_CN = "Test Kamu SM Kök"
INTERMEDIATE_CN = "Test Kamu SM NES Hizmet Sağlayıcısı - S1"
ORGANIZATION = "TEST ONLY - Kamu Sertifikasyon Merkezi Benzetimi"

# id-pe-qcStatements and ETSI QcCompliance (EN 319 412-5)
QC_STATEMENTS_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")
QC_COMPLIANCE_OID = "0.4.0.1862.1.1"
QC_SSCD_OID = "0.4.0.1862.1.4"
# The Turkish certificate policy for an individual's qualified certificate (NES)
NES_POLICY_OID = "2.16.792.1.61.0.1.5070.1.1"

KeyType = Literal["RSA-2048", "RSA-3072", "EC-P256", "EC-P384"]
KEY_TYPES: tuple[KeyType, ...] = ("RSA-2048", "RSA-3072", "EC-P256", "EC-P384")
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


# --- T.C. kimlik numarası ---------------------------------------------------


def tc_kimlik_check_digits(first_nine: str) -> str:
    """The two check digits of a T.C. kimlik no from its first nine digits.

    10th = (7 × (d1+d3+d5+d7+d9) − (d2+d4+d6+d8)) mod 10; 11th = (d1+…+d10) mod 10.
    """
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValueError("nine ASCII digits expected")
    if first_nine[0] == "0":
        raise ValueError("a T.C. kimlik no does not start with 0")
    d = [int(c) for c in first_nine]
    tenth = (7 * (d[0] + d[2] + d[4] + d[6] + d[8]) - (d[1] + d[3] + d[5] + d[7])) % 10
    eleventh = (sum(d) + tenth) % 10
    return f"{tenth}{eleventh}"


def is_valid_tc_kimlik(value: str) -> bool:
    """True for an 11-digit number whose check digits are right."""
    if len(value) != 11 or not value.isascii() or not value.isdigit() or value[0] == "0":
        return False
    return tc_kimlik_check_digits(value[:9]) == value[9:]


def make_tc_kimlik(prefix: str = "") -> str:
    """A valid (checksummed) T.C. kimlik no starting with `prefix`, random otherwise."""
    digits = prefix
    while len(digits) < 9:
        digits += str(secrets.randbelow(9) + 1 if not digits else secrets.randbelow(10))
    return digits[:9] + tc_kimlik_check_digits(digits[:9])


# --- keys and certificates --------------------------------------------------


def generate_private_key(key_type: KeyType) -> PrivateKey:
    """A software key (for CAs, and for holders whose key is not on a token)."""
    if key_type == "RSA-2048":
        return rsa.generate_private_key(65537, 2048)
    if key_type == "RSA-3072":
        return rsa.generate_private_key(65537, 3072)
    if key_type == "EC-P256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "EC-P384":
        return ec.generate_private_key(ec.SECP384R1())
    raise ValueError(f"unknown key type {key_type!r}")


def _hash_for(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()


def qc_statements_der(statement_oids: Sequence[str]) -> bytes:
    """DER of QCStatements ::= SEQUENCE OF SEQUENCE { statementId OID } (no statementInfo)."""
    from asn1crypto import core

    class _QcStatement(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
        _fields = [("statement_id", core.ObjectIdentifier)]  # noqa: RUF012

    class _QcStatements(core.SequenceOf):  # type: ignore[misc]
        _child_spec = _QcStatement

    value = _QcStatements([{"statement_id": oid} for oid in statement_oids])
    return bytes(value.dump())


@dataclass(frozen=True)
class CA:
    """A certification authority: its certificate and (TEST ONLY) private key."""

    cert: x509.Certificate
    key: PrivateKey = field(repr=False)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class PKI:
    root: CA
    intermediate: CA

    def write(self, directory: Path) -> None:
        """Write root and intermediate, certificate and key, as PEM files."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, ca in (("root", self.root), ("intermediate", self.intermediate)):
            (directory / f"{name}.pem").write_bytes(ca.cert_pem)
            (directory / f"{name}.key.pem").write_bytes(
                ca.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )

    @classmethod
    def load(cls, directory: Path = TESTPKI_DIR) -> PKI:
        def ca(name: str) -> CA:
            cert = x509.load_pem_x509_certificate((directory / f"{name}.pem").read_bytes())
            key = serialization.load_pem_private_key(
                (directory / f"{name}.key.pem").read_bytes(), None
            )
            assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
            return CA(cert, key)

        return cls(ca("root"), ca("intermediate"))


def default_pki() -> PKI:
    """The committed TEST ONLY root and intermediate (see `tui/sim/testpki/`)."""
    return PKI.load(TESTPKI_DIR)


def default_root_pem() -> Path:
    return TESTPKI_DIR / "root.pem"


def _name(common_name: str, serial_number: str | None = None, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "TR")]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if serial_number:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _ca_certificate(
    key: PrivateKey,
    subject: x509.Name,
    issuer: CA | None,
    not_before: datetime,
    not_after: datetime,
    path_length: int | None,
) -> x509.Certificate:
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return builder.sign(signer_key, _hash_for(signer_key))


def generate_pki(
    root_cn: str = ROOT_CN,
    intermediate_cn: str = INTERMEDIATE_CN,
    *,
    not_before: datetime | None = None,
    years: int = 25,
) -> PKI:
    """A fresh root and intermediate (EC keys: fast to make and to sign with)."""
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    end = start + timedelta(days=365 * years)
    root_key = generate_private_key("EC-P384")
    root = CA(
        _ca_certificate(root_key, _name(root_cn, org=ORGANIZATION), None, start, end, 1),
        root_key,
    )
    inter_key = generate_private_key("EC-P256")
    inter = CA(
        _ca_certificate(inter_key, _name(intermediate_cn, org=ORGANIZATION), root, start, end, 0),
        inter_key,
    )
    return PKI(root, inter)


KeyUsageName = Literal[
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
]


def issue_certificate(
    issuer: CA,
    public_key: PublicKey,
    *,
    common_name: str,
    national_id: str | None = None,
    not_before: datetime,
    not_after: datetime,
    key_usage: Sequence[KeyUsageName] = ("nonRepudiation",),
    qc_compliance: bool = True,
    policies: Sequence[str] = (NES_POLICY_OID,),
    serial_number: int | None = None,
    organization: str | None = None,
) -> x509.Certificate:
    """An end-entity certificate for `public_key`, with the properties chosen.

    `national_id` goes into the subject serialNumber (how Kamu SM carries the
    T.C. kimlik no). A qualified signature certificate has nonRepudiation and
    QcCompliance and/or the NES policy; drop them to make one that is not.
    """
    usage = set(key_usage)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, national_id, organization))
        .issuer_name(issuer.cert.subject)
        .public_key(public_key)
        .serial_number(serial_number or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature="digitalSignature" in usage,
                content_commitment="nonRepudiation" in usage,
                key_encipherment="keyEncipherment" in usage,
                data_encipherment="dataEncipherment" in usage,
                key_agreement="keyAgreement" in usage,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    if policies:
        builder = builder.add_extension(
            x509.CertificatePolicies(
                [x509.PolicyInformation(x509.ObjectIdentifier(p), None) for p in policies]
            ),
            critical=False,
        )
    if qc_compliance:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(
                QC_STATEMENTS_OID, qc_statements_der([QC_COMPLIANCE_OID, QC_SSCD_OID])
            ),
            critical=False,
        )
    return builder.sign(issuer.key, _hash_for(issuer.key))


# --- holders ----------------------------------------------------------------

Profile = Literal["qualified", "auth"]
Validity = Literal["valid", "expired", "not_yet_valid"]


@dataclass(frozen=True)
class HolderSpec:
    """One certificate to put on a test card, and what the app must make of it."""

    name: str
    national_id: str
    key_type: KeyType = "EC-P256"
    profile: Profile = "qualified"
    validity: Validity = "valid"
    qc_compliance: bool = True
    nes_policy: bool = True
    token: str = "EONAY TEST 1"  # noqa: S105 - label of the token it goes on
    always_authenticate: bool = False

    @property
    def qualified(self) -> bool:
        return self.profile == "qualified" and (self.qc_compliance or self.nes_policy)

    @property
    def usable(self) -> bool:
        return self.qualified and self.validity == "valid"

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        if self.validity == "expired":
            return now - timedelta(days=3 * 365), now - timedelta(days=2)
        if self.validity == "not_yet_valid":
            return now + timedelta(days=30), now + timedelta(days=3 * 365)
        return now - timedelta(days=1), now + timedelta(days=2 * 365)


def issue_holder(
    issuer: CA, public_key: PublicKey, spec: HolderSpec, now: datetime | None = None
) -> x509.Certificate:
    """The certificate `spec` describes, for a key made elsewhere (on a token)."""
    not_before, not_after = spec.window(now or datetime.now(UTC))
    if spec.profile == "qualified":
        usage: tuple[KeyUsageName, ...] = ("nonRepudiation",)
        policies = (NES_POLICY_OID,) if spec.nes_policy else ()
        qc = spec.qc_compliance
    else:
        usage, policies, qc = ("digitalSignature",), (), False
    return issue_certificate(
        issuer,
        public_key,
        common_name=spec.name,
        national_id=spec.national_id,
        not_before=not_before,
        not_after=not_after,
        key_usage=usage,
        qc_compliance=qc,
        policies=policies,
    )


def software_holder(
    issuer: CA,
    key_type: KeyType = "EC-P256",
    *,
    common_name: str = "TEST KİŞİ",
    national_id: str | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    **properties: Any,
) -> tuple[PrivateKey, x509.Certificate]:
    """A key made in software and its certificate (for CAs the portal must refuse,
    or certificates without nonRepudiation, where no token is needed).

    `properties` go to `issue_certificate` (key_usage, qc_compliance, policies...).
    """
    key = generate_private_key(key_type)
    now = datetime.now(UTC)
    cert = issue_certificate(
        issuer,
        key.public_key(),
        common_name=common_name,
        national_id=national_id or make_tc_kimlik(),
        not_before=not_before or now - timedelta(days=1),
        not_after=not_after or now + timedelta(days=365),
        **properties,
    )
    return key, cert


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tui.sim.pki",
        description="Write a new TEST ONLY root and intermediate (certificate and key).",
    )
    parser.add_argument("--out", type=Path, default=TESTPKI_DIR, help="directory to write")
    parser.add_argument("--root-cn", default=ROOT_CN)
    parser.add_argument("--intermediate-cn", default=INTERMEDIATE_CN)
    parser.add_argument("--years", type=int, default=25)
    args = parser.parse_args(argv)
    pki = generate_pki(args.root_cn, args.intermediate_cn, years=args.years)
    pki.write(args.out)
    print(f"wrote a TEST ONLY root and intermediate to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
