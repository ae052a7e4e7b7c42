"""Bare PyKCS11 doing what eonay does with the card, for the remote-card figures.

    python -m bench.baselines.remote_bare MODULE [--listing RUNS] [--sign RUNS]
        [--cert-id HEX] [--loop-lag] [--watch SECONDS]     (the PIN on stdin to sign)

The module is loaded (C_Initialize) before anything is timed, as the app has it
loaded before the code is typed. A listing is `bench.figures.scan.bare_listing`:
for every token, its info, a session, the certificates' CKA_ID, CKA_LABEL and
CKA_VALUE and the keys' CKA_ID, CKA_LABEL and CKA_KEY_TYPE (what the app reads
and shows). A signature is open session, C_Login, find the private key by
CKA_ID, C_SignInit + C_Sign over a SHA-256 digest (CKM_ECDSA; CKM_SHA256_RSA_PKCS
over 100 bytes for RSA), C_Logout, close. `loop-lag` runs a listing and then a
signature in a worker thread (asyncio.to_thread) while the event loop runs a
1 ms timer, as the app's Textual workers do. `watch` makes one C_GetSlotInfo a
second for SECONDS (the most the issue allows an idle screen). All in one
process, in that order, so the benchmark pays one start.

Prints one JSON object: every timed run as [start, end] in `time.perf_counter()`
(the relay's clock), so the benchmark counts the relay's calls inside each.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from typing import Any

import PyKCS11 as P

from bench.figures.scan import bare_listing

Window = tuple[float, float]


def _slot(lib: Any) -> int:
    return int(lib.getSlotList(tokenPresent=True)[0])


def _slot_with(lib: Any, cert_id: bytes) -> int:
    """The slot whose token holds the certificate (set-up, not timed)."""
    for slot in lib.getSlotList(tokenPresent=True):
        session = lib.openSession(slot, P.CKF_SERIAL_SESSION)
        try:
            if session.findObjects([(P.CKA_CLASS, P.CKO_CERTIFICATE), (P.CKA_ID, cert_id)]):
                return int(slot)
        finally:
            session.closeSession()
    raise SystemExit(f"no token holds a certificate with CKA_ID {cert_id.hex()}")


def _signer(lib: Any, cert_id: bytes, pin: str) -> Any:
    """What one signature costs a bare signer: a fresh session, login, find, sign, out."""
    slot = _slot_with(lib, cert_id)
    session = lib.openSession(slot, P.CKF_SERIAL_SESSION)
    session.login(pin)
    try:
        (key,) = session.findObjects([(P.CKA_CLASS, P.CKO_PRIVATE_KEY), (P.CKA_ID, cert_id)])
        key_type = session.getAttributeValue(key, [P.CKA_KEY_TYPE])[0]
    finally:
        session.logout()
        session.closeSession()
    if key_type == P.CKK_EC:
        mechanism, data = P.Mechanism(P.CKM_ECDSA), hashlib.sha256(b"eonay").digest()
    else:
        mechanism, data = P.Mechanism(P.CKM_SHA256_RSA_PKCS), bytes(100)

    def sign() -> None:
        session = lib.openSession(slot, P.CKF_SERIAL_SESSION)
        session.login(pin)
        try:
            (key,) = session.findObjects([(P.CKA_CLASS, P.CKO_PRIVATE_KEY), (P.CKA_ID, cert_id)])
            session.sign(key, data, mechanism)
        finally:
            session.logout()
            session.closeSession()

    return sign


def _timed(fn: Any, runs: int) -> list[Window]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((t0, time.perf_counter()))
    return out


def _watch(lib: Any, seconds: float) -> Window:
    """What the issue allows an idle screen: one cheap call a second (C_GetSlotInfo)."""
    slot = _slot(lib)
    start = time.perf_counter()
    tick = start
    while tick < start + seconds:
        time.sleep(max(0.0, tick - time.perf_counter()))
        lib.getSlotInfo(slot)
        tick += 1.0
    time.sleep(max(0.0, start + seconds - time.perf_counter()))
    return start, start + seconds


async def _loop_lag(work: Any) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    samples: list[tuple[float, float]] = []
    done = False

    async def tick() -> None:
        while not done:
            expected = loop.time() + 0.001
            await asyncio.sleep(0.001)
            samples.append((expected, loop.time() - expected))

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.2)  # the timer's own rhythm first
    t0 = time.perf_counter()
    await asyncio.to_thread(work)
    t1 = time.perf_counter()
    done = True
    await ticker
    return {"work": (t0, t1), "samples": samples}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines.remote_bare")
    parser.add_argument("module")
    parser.add_argument("--listing", type=int, default=0, metavar="RUNS")
    parser.add_argument("--sign", type=int, default=0, metavar="RUNS")
    parser.add_argument("--cert-id", metavar="HEX", help="the key to sign with (PIN on stdin)")
    parser.add_argument("--loop-lag", action="store_true")
    parser.add_argument("--watch", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    signs = args.sign or args.loop_lag
    pin = sys.stdin.readline().strip() if signs else ""
    lib = P.PyKCS11Lib()
    t0 = time.perf_counter()
    lib.load(args.module)
    out: dict[str, Any] = {"load": (t0, time.perf_counter())}
    if args.listing:
        bare_listing(lib)  # warm-up: the timed runs are not the first
        out["listing"] = _timed(lambda: bare_listing(lib), args.listing)
    sign = _signer(lib, bytes.fromhex(args.cert_id), pin) if signs else None
    if sign is not None and args.sign:
        out["sign"] = _timed(sign, args.sign)
    if sign is not None and args.loop_lag:
        signer = sign

        def work() -> None:
            bare_listing(lib)
            signer()

        out["loop_lag"] = asyncio.run(_loop_lag(work))
    if args.watch:
        out["watch"] = _watch(lib, args.watch)
    t0 = time.perf_counter()
    lib.unload()
    out["unload"] = (t0, time.perf_counter())
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
