"""Issue 12: the card on another machine (`p11-kit server`), reached over a link with a
round-trip time, as in the README's "card on the laptop, app over SSH".

The demo's card (SoftHSM) is served by `p11-kit server`; `bench.p11_relay` sits on
its socket, adds the round-trip time (half on each request, half on each reply)
and counts every PKCS#11 call by p11-kit's RPC framing. The real app runs the way
a user runs it over SSH, `python -m tui --portal URL --module p11-kit-client.so`
with `P11_KIT_SERVER_ADDRESS` pointing at the relay (and no SOFTHSM2_CONF: it can
reach the token through the link only), in an 80x24 pty, typed like a person:

- listing: Enter on the code -> the certificate list on screen;
- login signature: the PIN, Enter -> the E-Onay screen;
- E-Onay signature: the PIN, Enter -> the receipt;
- idle: calls per second on the code entry (before the code is typed), the
  certificate list, the PIN screen, the E-Onay screen and the receipt, over a
  window after each settled (the worst one is the figure, each one is in the
  details);
- loop lag: with EONAY_BENCH_LOOP_LAG set, the app runs a 1 ms timer on its event
  loop (`tui/loop_lag.py`); the figure is the p99 of its lateness over the
  listing and signature windows.

Each beside bare PyKCS11 doing the same work through the same relay, in its own
process (`bench.baselines.remote_bare`), with the module loaded beforehand as the
app has it: a listing (the same objects and attributes as `token_scan`'s bare
loop), a signature (open, C_Login, find the key, sign, C_Logout, close), a watcher
making one C_GetSlotInfo a second (what the issue allows an idle screen), and
the 1 ms timer on an asyncio loop while a worker thread lists and signs. At 0 ms,
`eonay certs --json` and `eonay sign` are counted call by call beside the bare
script's load + listing (or signature) + unload.
"""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.config import Config
from bench.environment import CODE_ENTRY_TEXT, COUNTDOWN_TEXT, AppEnv, app_env
from bench.model import Figure, Target, median
from bench.p11_remote import Link, RemoteCard
from bench.pty_term import PtyRun, terminal_env

GROUP = "remote"
RTTS = (0, 50, 100)
QUICK_RTTS = (0,)
TARGET_RTT = 50  # the targets are for 50 ms
END_KEY = "\x1b[F"  # what a terminal sends for End
IDLE_SCREENS = ("code_entry", "certificate_select", "pin", "e_onay_confirm", "done")
LAG_TARGET_MS = 20.0


def _ids(rtt: int) -> tuple[str, ...]:
    return tuple(
        f"remote_{what}_{rtt}ms"
        for what in (
            "listing",
            "listing_calls",
            "login_signature",
            "eonay_signature",
            "idle_calls",
            "loop_lag",
        )
    )


IDS = (*(i for rtt in RTTS for i in _ids(rtt)), "remote_certs_json_calls", "remote_sign_calls")

Window = tuple[float, float]


def _press_enter(run: PtyRun, shows: Callable[[str], bool] | str) -> Window:
    """Enter once the screen went quiet; (when it was pressed, when `shows` held)."""
    run.wait_quiet(0.3)
    pressed = run.now()
    run.send("\r")
    return pressed, run.wait_for(shows, timeout=60)


def _wait_link_quiet(link: Link, quiet: float = 0.5, timeout: float = 15.0) -> None:
    """Until no call crossed the link for `quiet` s (the app's warm-up is over)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        calls = link.calls()
        last = calls[-1].at if calls else 0.0
        if time.perf_counter() - last >= quiet:
            return
        time.sleep(quiet / 5)


def _idle(run: PtyRun, link: Link, cfg: Config, shown: float) -> dict[str, Any]:
    """Calls over the idle window that starts `settle_s` after the screen showed."""
    start = shown + _settle(cfg)
    time.sleep(max(0.0, start - run.now()))
    window = _idle_window(cfg)
    time.sleep(window)
    end = start + window
    return {
        "window": (start, end),
        "calls": link.count(start, end),
        "calls_per_s": link.count(start, end) / window,
        "by_name": link.by_name(start, end),
    }


def _idle_window(cfg: Config) -> float:
    return 1.0 if cfg.quick else 5.0


def _settle(cfg: Config) -> float:
    """After a screen showed, before its idle window (and before the code is typed)."""
    return 0.5 if cfg.quick else 2.0


def _flow(cfg: Config, app: AppEnv, link: Link, lag_path: Path, idle: bool) -> dict[str, Any]:
    """One run of the real app through the link: code to receipt, with its windows."""
    from tui.sim.state import PortalState

    app.portal.reset(PortalState())  # the holder's E-Onay is not on file yet
    env = terminal_env({**link.env, "EONAY_BENCH_LOOP_LAG": str(lag_path)})
    argv = [cfg.python, "-m", "tui", "--portal", app.portal.url, "--module", link.client_module]
    out: dict[str, Any] = {"idle": {}}
    with PtyRun(argv, env, cwd=str(cfg.repo)) as run:
        shown = run.wait_for(CODE_ENTRY_TEXT, timeout=30)
        # A person takes seconds to type the code: the warm-up is over by then.
        if idle:
            out["idle"]["code_entry"] = _idle(run, link, cfg, shown)
        else:
            time.sleep(max(0.0, shown + _settle(cfg) - run.now()))
        _wait_link_quiet(link)
        run.wait_quiet(0.3)
        run.type(app.new_login_code())
        out["listing"] = _press_enter(run, lambda s: app.holder in s and CODE_ENTRY_TEXT not in s)
        if idle:
            out["idle"]["certificate_select"] = _idle(run, link, cfg, out["listing"][1])
        pin = _press_enter(run, lambda s: "3/6" in s and COUNTDOWN_TEXT in s)  # step 2 has one too
        if idle:
            out["idle"]["pin"] = _idle(run, link, cfg, pin[1])
        run.type(app.card.pin)
        out["login_signature"] = _press_enter(run, "E-ONAY İşlemleri")
        if idle:
            out["idle"]["e_onay_confirm"] = _idle(run, link, cfg, out["login_signature"][1])
        _press_enter(run, lambda s: "Devam Et" in s and "E-ONAY İşlemleri" not in s)
        _press_enter(run, lambda s: "5/6" in s and COUNTDOWN_TEXT in s)
        run.type(app.card.pin)
        run.send(END_KEY)  # the E-Onay text is longer than its box: signing needs its end seen
        out["eonay_signature"] = _press_enter(run, "6/6")
        if idle:
            out["idle"]["done"] = _idle(run, link, cfg, out["eonay_signature"][1])
        run.stop()  # SIGTERM: the app ends the normal way and writes its loop-lag samples
    for name in ("listing", "login_signature", "eonay_signature"):
        start, end = out[name]
        out[f"{name}_s"] = end - start
        out[f"{name}_calls"] = link.count(start, end)
        out[f"{name}_by_name"] = link.by_name(start, end)
    out["lag"] = _read_lag(lag_path)
    return out


def _read_lag(path: Path) -> list[tuple[float, float]]:
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not path.exists():
        raise RuntimeError(f"the app wrote no loop-lag samples to {path}")
    pairs = []
    for line in path.read_text().splitlines():
        expected, late = line.split()
        pairs.append((float(expected), float(late)))
    return pairs


def _p99_ms(samples: list[float]) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return 1000 * ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def _overlap(a: float, b: float, c: float, d: float) -> float:
    return max(0.0, min(b, d) - max(a, c))


def _lag_summary(samples: list[tuple[float, float]], windows: list[Window]) -> dict[str, float]:
    """The ticks that were waiting during the windows: p99 and max of their lateness,
    and the share of the windows' time the loop was held more than the target.

    A tick due at `at` and `late` late shows the loop held over [at, at + late]; it
    counts for a window it overlaps, so a hold that began just before the card's
    first call still counts (its tick is due before the window starts).
    """
    late: list[float] = []
    held = 0.0
    for at, lateness in samples:
        overlaps = [_overlap(at, at + lateness, a, b) for a, b in windows]
        if any(o > 0 or a <= at < b for o, (a, b) in zip(overlaps, windows, strict=True)):
            late.append(lateness)
            if lateness * 1000 > LAG_TARGET_MS:
                held += sum(overlaps)
    span = sum(b - a for a, b in windows) or 1.0
    return {
        "p99_ms": _p99_ms(late),
        "max_ms": 1000 * max(late, default=0.0),
        "ticks": len(late),
        "share_of_time_held_over_20ms": held / span,
    }


def _card_spans(link: Link, windows: list[Window]) -> list[Window]:
    """Within each window, from the card's first call to the reply to its last one."""
    spans = []
    for a, b in windows:
        calls = link.calls(a, b)
        if calls:
            spans.append((calls[0].at, calls[-1].at + link.rtt_ms / 1000 + 0.001))
    return spans


def _bare(
    cfg: Config, link: Link, cert_id: str, pin: str, runs: int, watch_s: float
) -> dict[str, Any]:
    """Bare PyKCS11 through the same link, in its own process: listings, signatures,
    the loop-lag run and the one-call-a-second watcher (`bench.baselines.remote_bare`)."""
    proc = subprocess.run(
        [
            cfg.python,
            "-m",
            "bench.baselines.remote_bare",
            link.client_module,
            f"--listing={runs}",
            f"--sign={runs}",
            f"--cert-id={cert_id}",
            "--loop-lag",
            f"--watch={watch_s}",
        ],
        input=pin + "\n",
        env=terminal_env(link.env),
        cwd=cfg.repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bare PyKCS11 failed: {proc.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _runs(cfg: Config) -> int:
    return 2 if cfg.quick else 5


def _flows(cfg: Config) -> int:
    return 1 if cfg.quick else 3


def _at_rtt(cfg: Config, app: AppEnv, remote: RemoteCard, rtt: int) -> list[Figure]:
    holder = app.card.holders[0]
    with remote.link(rtt) as link:
        flows = [
            _flow(cfg, app, link, cfg.workdir / f"lag-{rtt}ms-{n}.txt", idle=n == 0)
            for n in range(_flows(cfg))
        ]
        bare = _bare(cfg, link, holder.cert_id, app.card.pin, _runs(cfg), _idle_window(cfg))
        listing, signing, lag = bare["listing"], bare["sign"], bare["loop_lag"]
        # A count does not depend on the RTT: the commands are counted once, at 0 ms.
        cli = _cli_counts(cfg, app, link, bare) if rtt == 0 else []
        bare_listing_s = [b - a for a, b in listing]
        bare_listing_calls = [link.count(a, b) for a, b in listing]
        bare_sign_s = [b - a for a, b in signing]
        bare_sign_calls = [link.count(a, b) for a, b in signing]
        watch_start, watch_end = bare["watch"]
        watch_rate = link.count(watch_start, watch_end) / (watch_end - watch_start)
        bare_listing_by_name = link.by_name(*listing[0])
        bare_sign_by_name = link.by_name(*signing[0])
        app_lag, app_lag_screens = [], []
        for f in flows:
            work = [f[name] for name in ("listing", "login_signature", "eonay_signature")]
            app_lag.append(_lag_summary(f["lag"], _card_spans(link, work)))
            app_lag_screens.append(_lag_summary(f["lag"], work))
        bare_samples = [(a, b) for a, b in lag["samples"]]
        bare_lag = _lag_summary(bare_samples, _card_spans(link, [lag["work"]]))
    first = flows[0]
    idle = {name: first["idle"][name] for name in IDLE_SCREENS}
    worst = max(IDLE_SCREENS, key=lambda name: idle[name]["calls_per_s"])
    idle_lag = {name: _lag_summary(first["lag"], [idle[name]["window"]]) for name in IDLE_SCREENS}
    app_lag_p99 = [run["p99_ms"] for run in app_lag]
    at_target = rtt == TARGET_RTT

    def seconds(name: str) -> list[float]:
        return [f[f"{name}_s"] for f in flows]

    def calls(name: str) -> list[float]:
        return [float(f[f"{name}_calls"]) for f in flows]

    common = {"rtt_ms": rtt, "delay": "RTT/2 on each request and RTT/2 on each reply"}
    sign_details = {
        **common,
        "bare_calls": median([float(c) for c in bare_sign_calls]),
        "bare_by_name": bare_sign_by_name,
    }

    def signature(key: str, label: str, shows: str, portal_part: str) -> Figure:
        name = f"{key}_signature"
        return Figure(
            id=f"remote_{name}_{rtt}ms",
            title=f"{label} signature at {rtt} ms RTT: PIN, Enter -> {shows} (median)",
            unit="s",
            baseline_name="bare PyKCS11: open, C_Login, find key, sign, C_Logout, close",
            value=median(seconds(name)),
            baseline=median(bare_sign_s),
            target=Target("ratio", 1.5, also_max=0.7) if at_target else None,
            samples={"app": seconds(name), "baseline": bare_sign_s},
            details={
                **sign_details,
                "app_calls": calls(name),
                "app_by_name": first[f"{name}_by_name"],
                "note": f"the app's time includes {portal_part}",
            },
        )

    return [
        Figure(
            id=f"remote_listing_{rtt}ms",
            title=f"Listing at {rtt} ms RTT: Enter on the code -> certificate list (median)",
            unit="s",
            baseline_name="bare PyKCS11 listing of the same objects through the same relay",
            value=median(seconds("listing")),
            baseline=median(bare_listing_s),
            target=Target("ratio", 1.5, also_max=0.6) if at_target else None,
            samples={"app": seconds("listing"), "baseline": bare_listing_s},
            details={
                **common,
                "app_calls": calls("listing"),
                "app_by_name": first["listing_by_name"],
                "note": "the app's time includes fetching the challenge from the portal",
            },
        ),
        Figure(
            id=f"remote_listing_calls_{rtt}ms",
            title=f"PKCS#11 calls for that listing at {rtt} ms RTT (median)",
            unit="calls",
            baseline_name="bare PyKCS11 listing of the same objects",
            value=median(calls("listing")),
            baseline=median([float(c) for c in bare_listing_calls]),
            target=Target("ratio", 1.5) if at_target else None,
            details={
                **common,
                "app_by_name": first["listing_by_name"],
                "bare_by_name": bare_listing_by_name,
            },
        ),
        signature("login", "Login", "E-Onay screen", "logging in to the portal with the signature"),
        signature("eonay", "E-Onay", "receipt", "sending the E-Onay to the portal"),
        Figure(
            id=f"remote_idle_calls_{rtt}ms",
            title=f"PKCS#11 calls per second on the busiest idle screen at {rtt} ms RTT",
            unit="calls/s",
            baseline_name="bare watcher: one C_GetSlotInfo a second",
            value=idle[worst]["calls_per_s"],
            baseline=watch_rate,
            target=Target("max", 1.0) if at_target else None,
            details={
                **common,
                "busiest": worst,
                "settle_s": _settle(cfg),
                "window_s": _idle_window(cfg),
                "by_screen": {
                    name: {k: v for k, v in idle[name].items() if k != "window"}
                    for name in IDLE_SCREENS
                },
                "loop_lag_by_screen": idle_lag,
            },
        ),
        Figure(
            id=f"remote_loop_lag_{rtt}ms",
            title=f"Event loop lag while the card works at {rtt} ms RTT (p99 of a 1 ms timer)",
            unit="ms",
            baseline_name="asyncio loop with the same timer while a thread runs bare PyKCS11",
            value=median(app_lag_p99),
            baseline=bare_lag["p99_ms"],
            target=Target("max", LAG_TARGET_MS) if at_target else None,
            samples={"app": app_lag_p99},
            details={
                **common,
                "app_by_run": app_lag,
                "app_enter_to_screen_by_run": app_lag_screens,
                "bare": bare_lag,
                "windows": (
                    "value: from the card's first call to the reply to its last, in the "
                    "listing and both signatures, p99 per run, median of the runs; "
                    "app_enter_to_screen: the whole Enter -> screen windows (the screen "
                    "change and the portal included)"
                ),
            },
        ),
        *cli,
    ]


def _cli_counts(cfg: Config, app: AppEnv, link: Link, bare: dict[str, Any]) -> list[Figure]:
    """`eonay certs --json` and `eonay sign`, whole processes, beside the bare script's
    load + one listing (or signature) + unload."""
    holder = app.card.holders[0]
    env = terminal_env(link.env)
    base = [cfg.python, "-m", "tui"]
    t0 = time.perf_counter()
    certs = subprocess.run(
        [*base, "certs", "--json", "--module", link.client_module],
        env=env,
        cwd=cfg.repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    t1 = time.perf_counter()
    if certs.returncode != 0:
        raise RuntimeError(f"eonay certs --json failed: {certs.stderr.strip()[-2000:]}")
    listed = json.loads(certs.stdout)["certificates"]
    certs_by_name = link.by_name(t0, t1)
    text = cfg.workdir / "remote-text.txt"
    text.write_text("Uzaktaki kart ile imza.\n", encoding="utf-8")
    nonce = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    t2 = time.perf_counter()
    signed = subprocess.run(
        [
            *base,
            "sign",
            "--module",
            link.client_module,
            "--cert-id",
            holder.cert_id,
            "--text-file",
            str(text),
            "--nonce",
            nonce,
            "--out",
            str(cfg.workdir / "remote.cms"),
            "--pin-stdin",
        ],
        input=app.card.pin + "\n",
        env=env,
        cwd=cfg.repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    t3 = time.perf_counter()
    if signed.returncode != 0:
        raise RuntimeError(f"eonay sign failed: {signed.stderr.strip()[-2000:]}")
    sign_by_name = link.by_name(t2, t3)

    def whole(work: str) -> tuple[float, dict[str, int]]:
        windows = [bare["load"], bare[work][0], bare["unload"]]
        names: dict[str, int] = {}
        for w in windows:
            for name, n in link.by_name(*w).items():
                names[name] = names.get(name, 0) + n
        return float(sum(names.values())), names

    bare_certs, bare_certs_by_name = whole("listing")
    bare_sign, bare_sign_by_name = whole("sign")
    return [
        Figure(
            id="remote_certs_json_calls",
            title="PKCS#11 calls of `eonay certs --json` (the whole process)",
            unit="calls",
            baseline_name="bare PyKCS11: load, one listing of the same objects, unload",
            value=float(sum(certs_by_name.values())),
            baseline=bare_certs,
            target=Target("ratio", 1.5),
            details={
                "rtt_ms": 0,
                "certificates": len(listed),
                "app_by_name": certs_by_name,
                "bare_by_name": bare_certs_by_name,
            },
        ),
        Figure(
            id="remote_sign_calls",
            title="PKCS#11 calls of `eonay sign` (the whole process)",
            unit="calls",
            baseline_name="bare PyKCS11: load, open, C_Login, find key, sign, C_Logout, close, "
            "unload",
            value=float(sum(sign_by_name.values())),
            baseline=bare_sign,
            details={
                "rtt_ms": 0,
                "app_by_name": sign_by_name,
                "bare_by_name": bare_sign_by_name,
            },
        ),
    ]


def run(cfg: Config) -> list[Figure]:
    figures: list[Figure] = []
    with app_env(cfg, "remote") as app, RemoteCard(app.card, cfg.workdir / "p11") as remote:
        for rtt in QUICK_RTTS if cfg.quick else RTTS:
            figures += _at_rtt(cfg, app, remote, rtt)
    return sorted(figures, key=lambda f: IDS.index(f.id))  # the commands' counts last
