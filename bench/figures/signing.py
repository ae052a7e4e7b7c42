"""Figure 3: what a signature costs over a bare C_Sign on the same SoftHSM key.

Issue 7 measures "the whole signature (hashing, CMS building, the
self-check) against a bare C_Sign on the same SoftHSM key". That is the
primary figure, `signing_<key>`: in one session, logged in once, the app's
own pipeline `tui.core.card.cades.build_cades` with the card as its signer
(`pkcs11_card.card_signer`), the call `Pkcs11Card.sign` makes between C_Login
and C_Logout: signed attributes, C_SignInit + C_Sign through
`Pkcs11Session.sign`, the CMS, the self-check with `cryptography`, against a
bare PyKCS11 C_SignInit + C_Sign in the same session, on the same key, with
the same mechanism and input size, the two alternating signature by
signature.

Logging in is card access, not signature overhead: a bare signer has to log
in too. So the user-level call is reported apart, `signing_card_<key>`,
without a target: `Pkcs11Card.sign` as the PIN screen calls it (find the
token, re-read the certificate and its keys, C_Login, the pipeline,
C_Logout) against bare PyKCS11 doing the least any signer must: open a
session, C_Login, find the key by CKA_ID, C_SignInit + C_Sign, C_Logout,
close. RSA-2048, EC P-256 and EC P-384, on one token of a private SoftHSM2.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.config import Config
from bench.model import Figure, Target, median

GROUP = "signing"
KEYS = {"RSA-2048": "rsa2048", "EC-P256": "ec_p256", "EC-P384": "ec_p384"}
IDS = tuple(f"signing_{k}" for k in KEYS.values()) + tuple(
    f"signing_card_{k}" for k in KEYS.values()
)
TOKEN = "BENCH SIGN"
TEXT = "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
BLOCKS = 5


def _ms(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def run(cfg: Config) -> list[Figure]:
    from tui.sim.pki import HolderSpec
    from tui.sim.softhsm import provision_card

    holders = [
        HolderSpec(f"İMZA DENEME {n}", _valid_tc(n), key, token=TOKEN)  # type: ignore[arg-type]
        for n, key in enumerate(KEYS)
    ]
    card = provision_card(cfg.workdir / "card", holders)
    os.environ["SOFTHSM2_CONF"] = str(card.conf_path)  # before this process loads SoftHSM
    from tui.core.card.pkcs11 import Pkcs11Module
    from tui.core.card.pkcs11_card import Pkcs11Card

    service = Pkcs11Card([card.module_path])
    module = Pkcs11Module(card.module_path)
    try:
        pipeline = [_pipeline(cfg, card, module, service, h) for h in card.holders]
        whole = [_whole(cfg, card, module, service, h) for h in card.holders]
    finally:
        service.close()
        module.close()
    return pipeline + whole


def _valid_tc(n: int) -> str:
    from tui.sim.pki import tc_kimlik_check_digits

    first = f"1{n + 1:02d}456789"
    return first + tc_kimlik_check_digits(first)


def _slot(module: Any) -> int:
    return next(s for s in module.slot_ids() if module.token(s).label == TOKEN)


def _bare_mechanism(plan: Any) -> Any:
    import PyKCS11 as P

    if plan.pss is not None:
        return P.RSA_PSS_Mechanism(
            plan.mechanism, plan.pss.hash_mechanism, plan.pss.mgf, plan.pss.salt_length
        )
    return P.Mechanism(plan.mechanism)


def _pipeline(cfg: Config, card: Any, module: Any, service: Any, holder: Any) -> Figure:
    """The primary figure: the app's pipeline and a bare C_Sign, one logged-in session."""
    import PyKCS11 as P
    from PyKCS11 import CKO_PRIVATE_KEY

    from tui.core.card import cades
    from tui.core.card.pkcs11_card import card_signer, signing_plan
    from tui.core.pin import Pin

    cert = next(c for c in service.certificates() if c.id == holder.cert_id_bytes)
    nonce = os.urandom(32)
    slot = _slot(module)
    session = module.open_session(slot)
    with Pin.from_str(card.pin) as pin:
        session.login(pin.buffer())
    try:
        (key,) = session.objects(CKO_PRIVATE_KEY, cka_id=cert.id)
        plan = signing_plan(module.mechanisms(slot), cades.scheme_for(cert.der))
        # The bare C_Sign gets what the pipeline hands the token: the signed
        # attributes (RSA: the token hashes) or their hash (ECDSA).
        data = plan.data(cades.prepare(TEXT, nonce, cert.der, signing_time=datetime.now(UTC)))
        bare_session = P.Session(module.lib, session.handle)
        mechanism = _bare_mechanism(plan)

        def ours() -> None:
            cades.build_cades(
                TEXT,
                nonce,
                cert.der,
                card_signer(session, key, plan),
                signing_time=datetime.now(UTC),
                chain=cert.chain,
                pss=plan.pss is not None,
            )

        def bare() -> None:
            bare_session.sign(key.handle, data, mechanism)

        for _ in range(3):  # warm-up: first calls, caches
            ours(), bare()
        ours_ms: list[float] = []
        bare_ms: list[float] = []
        for _ in range(cfg.sign_runs):
            bare_ms.append(_ms(bare))
            ours_ms.append(_ms(ours))
        steps = _steps(lambda: ours(), cfg.sign_runs)
    finally:
        session.logout()
        session.close()
    return Figure(
        id=f"signing_{KEYS[holder.key_type]}",
        title=f"Signature (CMS, C_Sign, self-check) vs bare C_Sign, {holder.key}, median",
        unit="ms",
        baseline_name="bare PyKCS11 C_SignInit + C_Sign, same key, session and input size",
        value=median(ours_ms),
        baseline=median(bare_ms),
        target=Target("overhead", 2.0),
        samples={"app": ours_ms, "baseline": bare_ms},
        details={
            "runs": len(ours_ms),
            "mechanism": _mechanism_name(plan.mechanism),
            "signed_bytes": len(data),
            "what_is_timed": "cades.build_cades with card_signer, in a logged-in session",
            "steps_mean_ms": steps,
        },
    )


def _whole(cfg: Config, card: Any, module: Any, service: Any, holder: Any) -> Figure:
    """Informational: the user-level call with its card access, against a bare signer's."""
    import PyKCS11 as P

    from tui.core.card import cades
    from tui.core.card.pkcs11_card import signing_plan
    from tui.core.pin import Pin

    cert = next(c for c in service.certificates() if c.id == holder.cert_id_bytes)
    nonce = os.urandom(32)
    slot = _slot(module)
    plan = signing_plan(module.mechanisms(slot), cades.scheme_for(cert.der))
    data = plan.data(cades.prepare(TEXT, nonce, cert.der, signing_time=datetime.now(UTC)))
    mechanism = _bare_mechanism(plan)
    lib = module.lib

    def whole() -> None:
        service.sign(cert, Pin.from_str(card.pin), TEXT, nonce)

    def bare() -> None:
        session = lib.openSession(slot, P.CKF_SERIAL_SESSION)
        session.login(card.pin)
        try:
            (key,) = session.findObjects(
                [(P.CKA_CLASS, P.CKO_PRIVATE_KEY), (P.CKA_ID, holder.cert_id_bytes)]
            )
            session.sign(key, data, mechanism)
        finally:
            session.logout()
            session.closeSession()

    for _ in range(2):
        whole(), bare()
    whole_ms: list[float] = []
    bare_ms: list[float] = []
    per_block = max(1, cfg.sign_runs // BLOCKS)
    for _ in range(BLOCKS):
        for _ in range(per_block):
            bare_ms.append(_ms(bare))
            whole_ms.append(_ms(whole))
    return Figure(
        id=f"signing_card_{KEYS[holder.key_type]}",
        title=f"Pkcs11Card.sign (with login and re-read) vs a bare signer, {holder.key}, median",
        unit="ms",
        baseline_name=(
            "bare PyKCS11: open session, C_Login, find the key, C_SignInit + C_Sign, "
            "C_Logout, close"
        ),
        value=median(whole_ms),
        baseline=median(bare_ms),
        target=None,
        samples={"app": whole_ms, "baseline": bare_ms},
        details={
            "runs": len(whole_ms),
            "mechanism": _mechanism_name(plan.mechanism),
            "steps_mean_ms": _steps(whole, cfg.sign_runs),
        },
    )


def _mechanism_name(mechanism: int) -> str:
    from tui.core.card.pkcs11 import mechanism_name

    return mechanism_name(mechanism)


def _steps(call: Callable[[], object], n: int) -> dict[str, float]:
    """Where the time of `call` goes: each step wrapped with a timer, mean ms per call.

    Separate runs, since the timers cost a little themselves.
    """
    from tui.core.card import cades
    from tui.core.card import pkcs11 as token
    from tui.core.card import pkcs11_card as card

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
    wrap(token.Pkcs11Session, "logout", "C_Logout")
    wrap(token.Pkcs11Session, "sign", "C_SignInit + C_Sign")
    wrap(token.Pkcs11Session, "objects", "C_FindObjects + attributes (by class)")
    wrap(token.Pkcs11Session, "objects_with_id", "C_FindObjects + attributes (by CKA_ID)")
    wrap(token.Pkcs11Module, "slot_ids", "C_GetSlotList")
    wrap(token.Pkcs11Module, "token", "C_GetTokenInfo")
    wrap(token.Pkcs11Module, "mechanisms", "C_GetMechanismList")
    wrap(card, "certificate_info", "certificate re-check (certificate_info)")
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            call()
        total = time.perf_counter() - t0
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)
    out = {k: round(v / n * 1000, 3) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}
    out["total"] = round(total / n * 1000, 3)
    out["rest"] = round(out["total"] - sum(v for k, v in out.items() if k != "total"), 3)
    return out
