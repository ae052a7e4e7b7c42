"""Throwaway SoftHSM2 cards with keys made on the token and certificates from the test PKI.

`provision_card(workdir)` makes a private SoftHSM2 token directory and its own
`softhsm2.conf` under `workdir` (the user's SoftHSM config and tokens are never
touched), initialises the tokens, and fills each token in its own
subprocess, in parallel: key pairs are generated ON the token
(C_GenerateKeyPair), certificates are issued for the public keys by the test
PKI and written next to them under the same CKA_ID, with the intermediate CA
certificate too. The subprocesses keep SoftHSM out of the calling process, so
that process can still set SOFTHSM2_CONF before its own first C_Initialize.

The result, `ProvisionedCard`, is also written as `card.json` in `workdir`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.sim.pki import HolderSpec, tc_kimlik_check_digits

DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
MODULE_CANDIDATES = (
    DEFAULT_MODULE,
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
)
# A PIN that does not occur by chance in codes, serials or the SO PIN, so tests can
# search logs and screens for it (the SO PIN used to start with "123456").
DEFAULT_PIN = "739146"
DEFAULT_SO_PIN = "12345678"
CARD_1 = "EONAY TEST 1"
CARD_2 = "EONAY TEST 2"
DEMO_CARD = "EONAY DEMO"


def softhsm_module() -> str:
    """Path of libsofthsm2.so on this machine (EONAY_SOFTHSM_MODULE overrides)."""
    override = os.environ.get("EONAY_SOFTHSM_MODULE")
    if override:
        return override
    for candidate in MODULE_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return DEFAULT_MODULE


def _tc(first_nine: str) -> str:
    return first_nine + tc_kimlik_check_digits(first_nine)


def default_holders() -> list[HolderSpec]:
    """Every variant the app must handle, spread over two tokens."""
    return [
        HolderSpec("AYŞE GÜLŞEN ÇİFTÇİ", _tc("136472839"), "RSA-2048", token=CARD_1),
        HolderSpec("MEHMET ÖZTÜRK", _tc("254781936"), "EC-P256", qc_compliance=False, token=CARD_1),
        HolderSpec("GÖKHAN YILDIZ", _tc("318264597"), "EC-P256", validity="expired", token=CARD_1),
        HolderSpec(
            "ÜMİT GÜNEŞ", _tc("421957368"), "EC-P256", validity="not_yet_valid", token=CARD_1
        ),
        HolderSpec("ŞÜKRÜ DOĞAN", _tc("527319846"), "RSA-3072", nes_policy=False, token=CARD_2),
        HolderSpec("İLKNUR ÇAĞLAR", _tc("639182745"), "EC-P384", token=CARD_2),
        HolderSpec("İLKNUR ÇAĞLAR", _tc("639182745"), "EC-P256", profile="auth", token=CARD_2),
        HolderSpec(
            "ÇAĞRI ŞAHİN", _tc("745128396"), "EC-P256", always_authenticate=True, token=CARD_2
        ),
    ]


def demo_holders() -> list[HolderSpec]:
    """The demo's card: one holder, one qualified certificate (the guide's own name)."""
    return [HolderSpec("TEVFİK EDİS", _tc("138529467"), "EC-P256", token=DEMO_CARD)]


@dataclass(frozen=True)
class ProvisionedHolder:
    name: str
    national_id: str
    token: str  # token label
    cert_id: str  # CKA_ID, hex
    key_type: str  # RSA-2048, EC-P384 ...
    key: str  # as the app shows it: "RSA 2048", "EC P-384"
    profile: str  # qualified | auth
    validity: str  # valid | expired | not_yet_valid
    qualified: bool
    usable: bool
    expired: bool
    always_authenticate: bool
    cert_pem: str  # path of the certificate as PEM

    @property
    def cert_id_bytes(self) -> bytes:
        return bytes.fromhex(self.cert_id)


@dataclass(frozen=True)
class ProvisionedCard:
    workdir: Path
    module_path: str
    conf_path: Path
    pin: str = field(repr=False)
    so_pin: str = field(repr=False)
    root_pem: Path
    intermediate_pem: Path
    tokens: list[str]
    holders: list[ProvisionedHolder]

    @property
    def env(self) -> dict[str, str]:
        """Environment for a process that must see these tokens."""
        return {"SOFTHSM2_CONF": str(self.conf_path)}

    def holder(
        self, name: str, *, key_type: str | None = None, usable: bool | None = None
    ) -> ProvisionedHolder:
        """The one holder matching; KeyError when none or several match."""
        matches = [
            h
            for h in self.holders
            if h.name == name
            and (key_type is None or h.key_type == key_type)
            and (usable is None or h.usable == usable)
        ]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} holders match {name!r} {key_type} {usable}")
        return matches[0]

    def save(self) -> None:
        data = asdict(self)
        data = json.loads(json.dumps(data, default=str))
        (self.workdir / "card.json").write_text(json.dumps(data, ensure_ascii=False, indent=2))

    @classmethod
    def load(cls, workdir: Path) -> ProvisionedCard:
        data = json.loads((workdir / "card.json").read_text())
        return cls(
            workdir=Path(data["workdir"]),
            module_path=data["module_path"],
            conf_path=Path(data["conf_path"]),
            pin=data["pin"],
            so_pin=data["so_pin"],
            root_pem=Path(data["root_pem"]),
            intermediate_pem=Path(data["intermediate_pem"]),
            tokens=list(data["tokens"]),
            holders=[ProvisionedHolder(**h) for h in data["holders"]],
        )


def provision_demo_card(workdir: Path, pin: str = DEFAULT_PIN) -> ProvisionedCard:
    """The demo's card: one token, one qualified EC P-256 certificate under the test root."""
    return provision_card(workdir, demo_holders(), pin=pin)


def write_conf(workdir: Path) -> Path:
    """A softhsm2.conf of our own, with its own token directory."""
    tokendir = workdir / "tokens"
    tokendir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokendir}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
    )
    return conf


def provision_card(
    workdir: Path,
    holders: Sequence[HolderSpec] | None = None,
    pin: str = DEFAULT_PIN,
    so_pin: str = DEFAULT_SO_PIN,
    *,
    pki_dir: Path | None = None,
    module_path: str | None = None,
    now: datetime | None = None,
) -> ProvisionedCard:
    """Make the tokens for `holders` (default: `default_holders()`) under `workdir`.

    `pki_dir` holds root.pem/intermediate.pem and their keys (default: the
    committed test PKI; write a `generate_pki()` there for an untrusted CA).
    """
    from tui.sim.pki import TESTPKI_DIR

    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    specs = list(holders if holders is not None else default_holders())
    module = module_path or softhsm_module()
    pki = Path(pki_dir or TESTPKI_DIR).resolve()
    conf = write_conf(workdir)
    labels = list(dict.fromkeys(s.token for s in specs))
    moment = (now or datetime.now(UTC)).isoformat()
    certs_dir = workdir / "certs"
    certs_dir.mkdir(exist_ok=True)
    # Each token is made in a staging directory of its own, so the parallel
    # fillers never see each other's half-written object files; the finished
    # token directories are then moved under the card's one token directory.
    staged = [
        _start_filling(
            workdir / "staging" / str(i), label, specs, pin, so_pin, module, pki, moment, certs_dir
        )
        for i, label in enumerate(labels)
    ]
    made: list[ProvisionedHolder] = []
    for stage, proc in staged:
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"filling a SoftHSM token failed: {err.strip()}")
        made.extend(ProvisionedHolder(**h) for h in json.loads(out))
        for token_dir in (stage / "tokens").iterdir():
            shutil.move(str(token_dir), conf.parent / "tokens" / token_dir.name)
    shutil.rmtree(workdir / "staging", ignore_errors=True)
    card = ProvisionedCard(
        workdir=workdir,
        module_path=module,
        conf_path=conf,
        pin=pin,
        so_pin=so_pin,
        root_pem=pki / "root.pem",
        intermediate_pem=pki / "intermediate.pem",
        tokens=labels,
        holders=made,
    )
    card.save()
    return card


def _start_filling(
    stage: Path,
    label: str,
    specs: Sequence[HolderSpec],
    pin: str,
    so_pin: str,
    module: str,
    pki: Path,
    moment: str,
    certs_dir: Path,
) -> tuple[Path, subprocess.Popen[str]]:
    """Initialise one token in `stage` and start filling it in a subprocess."""
    env = {**os.environ, "SOFTHSM2_CONF": str(write_conf(stage))}
    util = shutil.which("softhsm2-util") or "softhsm2-util"
    subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
        env=env,
        check=True,
        capture_output=True,
    )
    job = {
        "module": module,
        "label": label,
        "pin": pin,
        "pki": str(pki),
        "now": moment,
        "certs_dir": str(certs_dir),
        "holders": [asdict(s) for s in specs if s.token == label],
    }
    job_file = stage / "job.json"
    job_file.write_text(json.dumps(job, ensure_ascii=False))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.sim.softhsm", "fill-token", str(job_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return stage, proc


# --- inside the subprocess: one token --------------------------------------


def _key_templates(spec: HolderSpec, label: str) -> tuple[list[Any], list[Any], Any]:
    import PyKCS11 as P
    from asn1crypto import keys

    pub: list[Any] = [
        (P.CKA_CLASS, P.CKO_PUBLIC_KEY),
        (P.CKA_TOKEN, True),
        (P.CKA_PRIVATE, False),
        (P.CKA_VERIFY, True),
        (P.CKA_LABEL, label),
    ]
    priv: list[Any] = [
        (P.CKA_CLASS, P.CKO_PRIVATE_KEY),
        (P.CKA_TOKEN, True),
        (P.CKA_PRIVATE, True),
        (P.CKA_SENSITIVE, True),
        (P.CKA_EXTRACTABLE, False),
        (P.CKA_SIGN, True),
        (P.CKA_LABEL, label),
    ]
    if spec.always_authenticate:
        priv.append((P.CKA_ALWAYS_AUTHENTICATE, True))
    if spec.key_type.startswith("RSA"):
        bits = int(spec.key_type.split("-")[1])
        pub += [(P.CKA_MODULUS_BITS, bits), (P.CKA_PUBLIC_EXPONENT, (0x01, 0x00, 0x01))]
        priv.append((P.CKA_KEY_TYPE, P.CKK_RSA))
        pub.append((P.CKA_KEY_TYPE, P.CKK_RSA))
        return pub, priv, P.MechanismRSAGENERATEKEYPAIR
    curve = {"EC-P256": "secp256r1", "EC-P384": "secp384r1"}[spec.key_type]
    params = keys.ECDomainParameters({"named": curve}).dump()
    pub += [(P.CKA_EC_PARAMS, params), (P.CKA_KEY_TYPE, P.CKK_EC)]
    priv.append((P.CKA_KEY_TYPE, P.CKK_EC))
    return pub, priv, P.MechanismECGENERATEKEYPAIR


def _public_key(session: Any, handle: Any, spec: HolderSpec) -> Any:
    import PyKCS11 as P
    from asn1crypto import core
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if spec.key_type.startswith("RSA"):
        modulus, exponent = session.getAttributeValue(
            handle, [P.CKA_MODULUS, P.CKA_PUBLIC_EXPONENT], allAsBinary=True
        )
        return rsa.RSAPublicNumbers(
            int.from_bytes(bytes(exponent), "big"), int.from_bytes(bytes(modulus), "big")
        ).public_key()
    (point,) = session.getAttributeValue(handle, [P.CKA_EC_POINT], allAsBinary=True)
    raw = bytes(point)
    curve = ec.SECP256R1() if spec.key_type == "EC-P256" else ec.SECP384R1()
    if len(raw) != 1 + 2 * ((curve.key_size + 7) // 8):  # DER OCTET STRING around the point
        raw = core.OctetString.load(raw).native
    return ec.EllipticCurvePublicKey.from_encoded_point(curve, raw)


def _fill_token(job: dict[str, Any]) -> list[dict[str, Any]]:
    import PyKCS11 as P
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from tui.core.card.certificates import key_description
    from tui.sim.pki import PKI, issue_holder

    pki = PKI.load(Path(job["pki"]))
    now = datetime.fromisoformat(job["now"])
    lib = P.PyKCS11Lib().load(job["module"])
    slots = lib.getSlotList(tokenPresent=True)
    slot = next(s for s in slots if lib.getTokenInfo(s).label.strip() == job["label"])
    session = lib.openSession(slot, P.CKF_RW_SESSION)
    session.login(job["pin"])
    out = []

    def put_certificate(cert: x509.Certificate, cka_id: bytes, label: str) -> None:
        der = cert.public_bytes(serialization.Encoding.DER)
        session.createObject(
            [
                (P.CKA_CLASS, P.CKO_CERTIFICATE),
                (P.CKA_CERTIFICATE_TYPE, P.CKC_X_509),
                (P.CKA_TOKEN, True),
                (P.CKA_PRIVATE, False),
                (P.CKA_LABEL, label),
                (P.CKA_ID, cka_id),
                (P.CKA_SUBJECT, cert.subject.public_bytes()),
                (P.CKA_ISSUER, cert.issuer.public_bytes()),
                (P.CKA_SERIAL_NUMBER, _der_integer(cert.serial_number)),
                (P.CKA_VALUE, der),
            ]
        )

    for raw_spec in job["holders"]:
        spec = HolderSpec(**raw_spec)
        label = f"{spec.name} {'İmza' if spec.profile == 'qualified' else 'Kimlik Doğrulama'}"
        pub_t, priv_t, mech = _key_templates(spec, label)
        pub_h, priv_h = session.generateKeyPair(pub_t, priv_t, mecha=mech)
        public_key = _public_key(session, pub_h, spec)
        spki = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        cka_id = hashlib.sha1(spki).digest()  # noqa: S324 - an identifier, as OpenSC makes them
        for h in (pub_h, priv_h):
            session.setAttributeValue(h, [(P.CKA_ID, cka_id)])
        cert = issue_holder(pki.intermediate, public_key, spec, now)
        put_certificate(cert, cka_id, label)
        pem_path = Path(job["certs_dir"]) / f"{cka_id.hex()}.pem"
        pem_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        out.append(
            asdict(
                ProvisionedHolder(
                    name=spec.name,
                    national_id=spec.national_id,
                    token=spec.token,
                    cert_id=cka_id.hex(),
                    key_type=spec.key_type,
                    key=key_description(cert),
                    profile=spec.profile,
                    validity=spec.validity,
                    qualified=spec.qualified,
                    usable=spec.usable,
                    expired=spec.validity == "expired",
                    always_authenticate=spec.always_authenticate,
                    cert_pem=str(pem_path),
                )
            )
        )
    inter = pki.intermediate.cert
    inter_id = inter.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    put_certificate(inter, inter_id, "Test Kamu SM NES S1")
    session.logout()
    session.closeSession()
    return out


def _der_integer(value: int) -> bytes:
    from asn1crypto import core

    return bytes(core.Integer(value).dump())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.sim.softhsm")
    sub = parser.add_subparsers(dest="command", required=True)
    fill = sub.add_parser("fill-token", help="(internal) fill one token from a JSON job file")
    fill.add_argument("job", type=Path)
    prov = sub.add_parser(
        "provision",
        help="make a throwaway SoftHSM2 card in a directory; prints the shell lines that "
        "point eonay at it (SOFTHSM2_CONF, EONAY_PKCS11_MODULE), the PIN and each certificate",
    )
    prov.add_argument("workdir", type=Path)
    prov.add_argument("--demo", action="store_true", help="the demo's one-holder card")
    prov.add_argument("--pin", default=DEFAULT_PIN)
    args = parser.parse_args(argv)
    if args.command == "fill-token":
        job = json.loads(args.job.read_text())
        args.job.unlink()  # it holds the PIN
        print(json.dumps(_fill_token(job), ensure_ascii=False))
        return 0
    if args.demo:
        card = provision_demo_card(args.workdir, pin=args.pin)
    else:
        card = provision_card(args.workdir, pin=args.pin)
    # Lines for `eval "$(python -m tui.sim.softhsm provision DIR)"`: eonay then finds the card.
    print(f"export SOFTHSM2_CONF={shlex.quote(str(card.conf_path))}")
    print(f"export EONAY_PKCS11_MODULE={shlex.quote(card.module_path)}")
    print(f"# PIN: {card.pin}")
    root = card.workdir / "root.pem"  # what `openssl cms -verify -CAfile` needs, beside the card
    shutil.copyfile(card.root_pem, root)
    print(f"# the test PKI's root: {root}")
    for h in card.holders:
        state = "usable" if h.usable else "not usable"
        print(f"# {h.token}: {h.name} {h.key} id={h.cert_id} ({state})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
