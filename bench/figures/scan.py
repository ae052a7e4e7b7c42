"""Figure 4: listing the certificates of 4 tokens x 8 certificates.

The app's listing is the card service's `certificates()` read in full, as when
the certificate screen opens or the card changed (idle screens reuse the kept
answer, so each run asks a new service over the same loaded module): every
present token, every certificate paired with its key, each described (holder,
qualified, valid, usable) and ordered. The baseline is a bare PyKCS11 loop that reads the same
objects and attributes (token info; certificates' CKA_ID, CKA_LABEL,
CKA_VALUE; keys' CKA_ID, CKA_LABEL, CKA_KEY_TYPE) and does nothing with them.
Both load the module once, as the app does, and alternate run by run.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench.config import Config
from bench.model import Figure, Target, median

GROUP = "scan"
IDS = ("token_scan",)
TOKENS = 4
PER_TOKEN = 8


def _holders() -> list[Any]:
    from tui.sim.pki import HolderSpec, tc_kimlik_check_digits

    out = []
    for t in range(TOKENS):
        for n in range(PER_TOKEN):
            first = f"{t + 1}{n + 1:02d}345678"
            out.append(
                HolderSpec(
                    f"TARAMA {t + 1}-{n + 1}",
                    first + tc_kimlik_check_digits(first),
                    "EC-P256",
                    token=f"BENCH SCAN {t + 1}",
                )
            )
    return out


def bare_listing(lib: Any) -> int:
    """Read what the app reads, with nothing on top; returns the number of certificates."""
    import PyKCS11 as P

    count = 0
    for slot in lib.getSlotList(tokenPresent=True):
        info = lib.getTokenInfo(slot)
        if not info.flags & P.CKF_TOKEN_INITIALIZED:
            continue
        session = lib.openSession(slot, P.CKF_SERIAL_SESSION)
        try:
            certs = session.findObjects(
                [(P.CKA_CLASS, P.CKO_CERTIFICATE), (P.CKA_CERTIFICATE_TYPE, P.CKC_X_509)]
            )
            for h in certs:
                session.getAttributeValue(h, [P.CKA_ID, P.CKA_LABEL, P.CKA_VALUE], allAsBinary=True)
            count += len(certs)
            for cls in (P.CKO_PRIVATE_KEY, P.CKO_PUBLIC_KEY):
                for h in session.findObjects([(P.CKA_CLASS, cls)]):
                    session.getAttributeValue(
                        h, [P.CKA_ID, P.CKA_LABEL, P.CKA_KEY_TYPE], allAsBinary=True
                    )
        finally:
            session.closeSession()
    return count


def run(cfg: Config) -> list[Figure]:
    from tui.sim.softhsm import provision_card

    # provision_card fills the four tokens in parallel processes, and SoftHSM
    # now and then answers CKR_GENERAL_ERROR to one reading a token another is
    # writing: try again in a fresh directory.
    for attempt in range(3):
        try:
            card = provision_card(cfg.workdir / f"card-{attempt}", _holders())
            break
        except RuntimeError:
            if attempt == 2:
                raise
    os.environ["SOFTHSM2_CONF"] = str(card.conf_path)  # before this process loads SoftHSM

    import PyKCS11 as P

    from tui.core.card.pkcs11 import Pkcs11Module
    from tui.core.card.pkcs11_card import Pkcs11Card

    module = Pkcs11Module(card.module_path)  # loaded once, as in the app

    def service() -> Pkcs11Card:
        return Pkcs11Card([card.module_path], opener=lambda _path: module)

    lib = P.PyKCS11Lib()
    lib.load(card.module_path)
    listed = service().certificates()  # warm-up
    raw_count = bare_listing(lib)
    app_ms: list[float] = []
    bare_ms: list[float] = []
    for _ in range(cfg.scan_runs):
        fresh = service()  # nothing kept: the full listing
        t0 = time.perf_counter()
        fresh.certificates()
        app_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        bare_listing(lib)
        bare_ms.append((time.perf_counter() - t0) * 1000)
    module.close()
    lib.unload()
    return [
        Figure(
            id="token_scan",
            title=f"Listing {TOKENS} tokens x {PER_TOKEN} certificates, median",
            unit="ms",
            baseline_name="bare PyKCS11 loop reading the same objects",
            value=median(app_ms),
            baseline=median(bare_ms),
            target=Target("ratio", 1.5),
            samples={"app": app_ms, "baseline": bare_ms},
            details={
                "runs": cfg.scan_runs,
                "certificates_listed_by_app": len(listed),
                "certificate_objects_read_by_bare_loop": raw_count,
                "note": "each token also holds the intermediate CA certificate, "
                "which both read and the app leaves out of its list",
            },
        )
    ]
