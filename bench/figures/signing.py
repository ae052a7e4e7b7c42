"""Figure 3: what a whole signature costs over a bare C_Sign on the same SoftHSM key.

The whole signature is the card service's `sign()`, the very call the PIN
screen makes: find the token and the certificate again, hash, build the
signed attributes, C_Login, C_Sign, C_Logout, build the CMS and check it
with `cryptography`. The baseline is a bare PyKCS11 C_Sign (C_SignInit +
C_Sign) in a session that is already logged in, with the same mechanism and
input size. Both run on one token of a private SoftHSM2, RSA-2048, EC P-256
and EC P-384, in alternating blocks (a bare C_Sign cannot share the login
state with the service, which logs out after each signature).

The details split the overhead: the bare cost of the session and login
around one signature, and the host-side CMS work.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from bench.config import Config
from bench.model import Figure, Target, median

GROUP = "signing"
IDS = ("signing_rsa2048", "signing_ec_p256", "signing_ec_p384")
KEYS = {"RSA-2048": "signing_rsa2048", "EC-P256": "signing_ec_p256", "EC-P384": "signing_ec_p384"}
TOKEN = "BENCH SIGN"
TEXT = "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
BLOCKS = 5


def _ms(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def run(cfg: Config) -> list[Figure]:
    from tui.sim.pki import HolderSpec
    from tui.sim.softhsm import provision_card

    holders = [
        HolderSpec(f"İMZA DENEME {n}", _valid_tc(n), key, token=TOKEN)  # type: ignore[arg-type]
        for n, key in enumerate(KEYS)
    ]
    card = provision_card(cfg.workdir / "card", holders)
    os.environ["SOFTHSM2_CONF"] = str(card.conf_path)  # before this process loads SoftHSM
    return [_measure(cfg, card, h) for h in card.holders]


def _valid_tc(n: int) -> str:
    from tui.sim.pki import tc_kimlik_check_digits

    first = f"1{n + 1:02d}456789"
    return first + tc_kimlik_check_digits(first)


def _measure(cfg: Config, card: Any, holder: Any) -> Figure:
    import PyKCS11 as P

    from tui.core import cades
    from tui.core.card import Pkcs11Card
    from tui.core.pin import Pin

    service = Pkcs11Card([card.module_path])
    cert = next(c for c in service.certificates() if c.id == holder.cert_id_bytes)
    nonce = os.urandom(32)

    def whole() -> None:
        service.sign(cert, Pin(bytearray(card.pin.encode())), TEXT, nonce)

    lib = P.PyKCS11Lib()
    lib.load(card.module_path)
    slot = next(
        s for s in lib.getSlotList(tokenPresent=True) if lib.getTokenInfo(s).label.strip() == TOKEN
    )
    rsa = holder.key_type.startswith("RSA")
    mech = P.Mechanism(P.CKM_SHA256_RSA_PKCS if rsa else P.CKM_ECDSA)
    # The same input size the signer hands to C_Sign: the signed attributes
    # for RSA (the token hashes), the digest for ECDSA.
    tbs = cades.prepare(TEXT, nonce, cert.der, signing_time=_now())
    data = tbs.signed_attrs if rsa else tbs.digest()

    def logged_in_block(n: int) -> list[float]:
        session = lib.openSession(slot, P.CKF_SERIAL_SESSION)
        session.login(card.pin)
        try:
            key = session.findObjects(
                [(P.CKA_CLASS, P.CKO_PRIVATE_KEY), (P.CKA_ID, holder.cert_id_bytes)]
            )[0]
            return _ms(lambda: session.sign(key, data, mech), n)
        finally:
            session.logout()
            session.closeSession()

    def session_and_login() -> None:
        session = lib.openSession(slot, P.CKF_SERIAL_SESSION)
        session.login(card.pin)
        session.logout()
        session.closeSession()

    per_block = max(1, cfg.sign_runs // BLOCKS)
    whole(), logged_in_block(1)  # warm-up: imports, caches
    whole_ms: list[float] = []
    bare_ms: list[float] = []
    login_ms: list[float] = []
    for _ in range(BLOCKS):
        bare_ms += logged_in_block(per_block)
        whole_ms += _ms(whole, per_block)
        login_ms += _ms(session_and_login, per_block)
    # A real card signature over fixed attributes, so the host work can be timed alone.
    fixed = cades.prepare(TEXT, nonce, cert.der, signing_time=_now())
    session = lib.openSession(slot, P.CKF_SERIAL_SESSION)
    session.login(card.pin)
    key = session.findObjects([(P.CKA_CLASS, P.CKO_PRIVATE_KEY), (P.CKA_ID, holder.cert_id_bytes)])[
        0
    ]
    raw = bytes(session.sign(key, fixed.signed_attrs if rsa else fixed.digest(), mech))
    session.logout()
    session.closeSession()
    signature = raw if rsa else cades.ecdsa_raw_to_der(raw)

    def host_only() -> None:
        der = cades.assemble(fixed, signature)
        cades.check_cms(der, TEXT, nonce, cert.der)

    breakdown = _breakdown(service, cert, card.pin, nonce, per_block * 2)
    prepare_ms = _ms(
        lambda: cades.prepare(TEXT, nonce, cert.der, signing_time=_now()), per_block * 2
    )
    assemble_check_ms = _ms(host_only, per_block * 2)
    service.close()
    lib.unload()
    return Figure(
        id=KEYS[holder.key_type],
        title=f"Whole signature vs bare C_Sign, {holder.key}, median",
        unit="ms",
        baseline_name="bare PyKCS11 C_Sign on the same key (session already logged in)",
        value=median(whole_ms),
        baseline=median(bare_ms),
        target=Target("overhead", 2.0),
        samples={"app": whole_ms, "baseline": bare_ms},
        details={
            "runs": len(whole_ms),
            "mechanism": "CKM_SHA256_RSA_PKCS" if rsa else "CKM_ECDSA",
            "bare_session_login_logout_ms": median(login_ms),
            "host_prepare_ms": median(prepare_ms),
            "host_assemble_and_check_ms": median(assemble_check_ms),
            "whole_breakdown_ms": breakdown,
        },
    )


def _breakdown(service: Any, cert: Any, pin: str, nonce: bytes, n: int) -> dict[str, float]:
    """Where the whole signature's time goes: each step wrapped with a timer.

    Separate runs, since the timers cost a little themselves; mean ms per signature.
    """
    from tui.core import cades, card, token
    from tui.core.pin import Pin

    spent: dict[str, float] = {}
    patched: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0

        patched.append((owner, name, original))
        setattr(owner, name, timed)

    wrap(cades, "prepare", "cades.prepare (signed attributes)")
    wrap(cades, "assemble", "cades.assemble (CMS)")
    wrap(cades, "check_cms", "cades.check_cms (self-check)")
    wrap(token.Pkcs11Session, "login", "C_Login")
    wrap(token.Pkcs11Session, "sign", "C_SignInit + C_Sign")
    wrap(token.Pkcs11Session, "objects", "C_FindObjects + attributes")
    wrap(card, "describe", "certificate re-check (describe)")
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            service.sign(cert, Pin(bytearray(pin.encode())), TEXT, nonce)
        total = time.perf_counter() - t0
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)
    out = {k: round(v / n * 1000, 3) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}
    out["total"] = round(total / n * 1000, 3)
    out["rest"] = round(out["total"] - sum(v for k, v in out.items() if k != "total"), 3)
    return out


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
