"""Figures 2 and 5: the PIN screen's countdown traffic, first paints, and memory.

The real app is driven through its real flow in an 80x24 pty (type the code
from the portal, Enter, Enter on the certificate) until the PIN screen
counts down. Then, after a settle, every byte written over the window is
counted, and the memory is read; then the flow goes on (the PIN, "E-ONAY
İşlemleri", "Devam Et") to the second PIN screen, the E-Onay one, whose memory
is reported beside it: a signature, a login and the E-Onay screens are behind
it, so it is the higher of the two. Memory is the sum of the PSS of the app's
process and every process it started (issue 12: a card in its own process
earns no credit, a shared library is not counted twice). The baselines
run the same way in the same group: a naive Textual countdown for the bytes,
a bare Textual app with one Static for memory. A countdown that repaints only
its digits (the floor) is measured beside them, for reference. Each process
comes with its split from /proc/PID/smaps (`bench.smaps`): file-backed clean pages
(code of the shared libraries), file-backed dirty pages (their relocations
and data) and anonymous memory (Python's objects, malloc), in RSS and PSS.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import psutil

from bench import smaps
from bench.config import Config
from bench.environment import (
    COUNTDOWN_TEXT,
    AppEnv,
    Opened,
    app_env,
    drive_to_done,
    drive_to_eonay_pin_screen,
    drive_to_pin_screen,
)
from bench.model import Figure, Target
from bench.pty_term import PtyRun, terminal_env

GROUP = "screens"
# The other screens, by the step that opens them (code entry's paint is in the start-up group).
LATER_SCREENS = {
    "certificate_select": "certificate list",
    "e_onay_confirm": "E-Onay screen (after the login signature)",
    "e_onay_continue": "E-Onay screen's second step (Devam Et)",
    "e_onay_pin": "E-Onay PIN screen",
    "done": "receipt",
}
IDS = (
    "terminal_bytes",
    "first_paint_pin",
    *(f"first_paint_{name}" for name in LATER_SCREENS),
    "memory",
)

PAINT_GAP = 0.25  # a paint ends at the first pause this long
NAIVE = "bench.baselines.naive_countdown"
FLOOR = "bench.baselines.floor_countdown"
BARE = "bench.baselines.bare_static"
IN_USE = "bench.baselines.libraries_in_use"


def _pss_mib(pid: int) -> float:
    """The memory of `pid` and every process it started: the sum of their PSS."""
    return smaps.tree_pss(pid)[0]


def _pss_split(pid: int, into: dict[str, object], name: str) -> float:
    """The PSS of `pid` and its descendants in MiB; the smaps split of each goes into
    `into[name]` (the first process's at the top level, as before; all in `processes`)."""
    members = smaps.tree_memory(pid)
    total = sum(m.mib for m in members)
    split = _split_of(pid)
    split["tree_pss_MiB"] = round(total, 2)
    split["processes"] = {
        str(m.pid): {"cmdline": _cmdline(m.pid), "pss_MiB": round(m.mib, 2)}
        | ({} if m.counted_as == "pss" else {"counted_as": m.counted_as})
        | ({} if m.pid == pid else {"split": _split_of(m.pid)})
        for m in members
    }
    into[name] = split
    return total


def _split_of(pid: int) -> dict[str, object]:
    try:
        return smaps.summary(pid)
    except PermissionError:
        return {"unreadable": "not dumpable: /proc/PID/smaps needs ptrace access"}


def _cmdline(pid: int) -> str:
    try:
        return " ".join(psutil.Process(pid).cmdline())[:200]
    except psutil.Error:
        return "?"


def _steady_rate(run: PtyRun, shown: float, cfg: Config) -> float:
    """Bytes per second over the window that starts `settle_s` after `shown`."""
    start = shown + cfg.settle_s
    time.sleep(max(0.0, start - run.now()))
    time.sleep(cfg.window_s)
    return run.bytes_between(start, start + cfg.window_s) / cfg.window_s


def _baseline_countdown(cfg: Config, module: str) -> tuple[float, float, float]:
    """(bytes/s while counting down, bytes of the first paint, PSS MiB)."""
    argv: Sequence[str] = [cfg.python, "-m", module]
    with PtyRun(argv, terminal_env(), cwd=str(cfg.repo)) as run:
        shown = run.wait_for(COUNTDOWN_TEXT, timeout=30)
        rate = _steady_rate(run, shown, cfg)  # by then the whole first paint has arrived
        return rate, _paint(run, Opened(0.0, shown)), _pss_mib(run.pid)


# The libraries the PIN screen cannot do without, loaded into the bare app:
# what memory the app could not save by any care of its own. The PKCS#11
# module stays loaded, as it does in the app (PyKCS11 unloads it with the last
# reference to its PyKCS11Lib).
LIBRARIES = (
    "import sys, PyKCS11\n"
    "from tui.core.portal.httpx_without_cli import httpx  # as the app imports it: no CLI\n"
    "from cryptography import x509\n"
    "from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa\n"
    "from asn1crypto import cms, tsp\n"
    "pkcs11 = PyKCS11.PyKCS11Lib()\n"
    "pkcs11.load(sys.argv[1])\n"
    "from bench.baselines.bare_static import main\n"
    "sys.argv[1:] = []\n"
    "main()\n"
)


def _bare_pss(cfg: Config, env: dict[str, str], split: dict[str, object], libraries: str) -> float:
    argv = [cfg.python, "-c", LIBRARIES, libraries]
    return _pss_and_paint(cfg, argv, env, split, "bare_with_libraries")[0]


def _in_use_pss(cfg: Config, app: AppEnv, split: dict[str, object]) -> float:
    argv = [cfg.python, "-m", IN_USE, app.card.module_path, app.portal.url, app.new_login_code()]
    return _pss_and_paint(cfg, argv, app.env, split, "bare_with_libraries_in_use")[0]


def _pss_and_paint(
    cfg: Config, argv: Sequence[str], env: dict[str, str], split: dict[str, object], name: str
) -> tuple[float, float]:
    """A process that shows the code-entry text: its PSS once settled, its first paint's bytes."""
    with PtyRun(argv, env, cwd=str(cfg.repo)) as run:
        shown = run.wait_for("Doğrulama Kodu", timeout=30)
        time.sleep(cfg.settle_s)
        return _pss_split(run.pid, split, name), _paint(run, Opened(0.0, shown))


def _paint(run: PtyRun, opened: Opened) -> float:
    """Bytes from the key that opened a screen to the end of its first paint."""
    return float(run.bytes_between(opened.pressed, run.burst_end(opened.shown, PAINT_GAP) + 1e-9))


def run(cfg: Config) -> list[Figure]:
    split: dict[str, object] = {}  # where each measured process's memory goes (bench.smaps)
    with app_env(cfg, "screens") as app, PtyRun(app.argv(), app.env, cwd=str(cfg.repo)) as run:
        opened = drive_to_pin_screen(run, app)
        shown = opened["pin"].shown
        app_rate = _steady_rate(run, shown, cfg)  # by then the whole first paint has arrived
        app_pss = _pss_split(run.pid, split, "pin_screen")
        app_screen = run.screen_text()
        opened |= drive_to_eonay_pin_screen(run, app)
        time.sleep(cfg.settle_s)
        eonay_pss = _pss_split(run.pid, split, "eonay_pin_screen")
        opened["done"] = drive_to_done(run, app)
        run.wait_quiet(PAINT_GAP)
        paints = {name: _paint(run, screen) for name, screen in opened.items()}
        run.stop()
        # Attribution only, not a figure: left out of the quick run.
        libs_pss = None if cfg.quick else _bare_pss(cfg, app.env, split, app.card.module_path)
        in_use_pss = None if cfg.quick else _in_use_pss(cfg, app, split)
    naive_rate, naive_paint, _ = _baseline_countdown(cfg, NAIVE)
    floor_rate, floor_paint, _ = (
        (None, None, None) if cfg.quick else _baseline_countdown(cfg, FLOOR)
    )
    bare = [cfg.python, "-m", BARE]
    bare_pss, bare_paint = _pss_and_paint(cfg, bare, terminal_env(), split, "bare")
    window = {"settle_s": cfg.settle_s, "window_s": cfg.window_s}
    return [
        Figure(
            id="terminal_bytes",
            title="Bytes/s to the terminal while the PIN screen counts down",
            unit="B/s",
            baseline_name="naive Textual countdown (focused Input, blinking cursor, Static)",
            value=app_rate,
            baseline=naive_rate,
            target=Target("max", 60.0),
            details={**window, "floor_B_per_s": floor_rate, "pin_screen": app_screen},
        ),
        Figure(
            id="first_paint_pin",
            title="First full paint of the PIN screen (bytes from the Enter that opens it)",
            unit="B",
            baseline_name="first paint of the naive countdown (bytes from exec)",
            value=paints["pin"],
            baseline=naive_paint,
            details={"floor_first_paint_B": floor_paint, "by_screen_B": paints},
        ),
        *(
            Figure(
                id=f"first_paint_{name}",
                title=f"First full paint of the {what} (bytes from the key that opens it)",
                unit="B",
                baseline_name="first paint of the bare Textual app with one Static (from exec)",
                value=paints[name],
                baseline=bare_paint,
            )
            for name, what in LATER_SCREENS.items()
        ),
        Figure(
            id="memory",
            title="Memory on the PIN screen: the PSS of the app and every process it started",
            unit="MiB",
            baseline_name="bare Textual app with one Static",
            value=app_pss,
            baseline=bare_pss,
            target=Target("ratio", 1.5),
            details={
                "eonay_pin_screen_MiB": eonay_pss,
                "eonay_pin_screen_ratio": eonay_pss / bare_pss,
                "bare_with_libraries_MiB": libs_pss,
                "bare_with_libraries_in_use_MiB": in_use_pss,
                "in_use": (
                    "the app's Pkcs11Card listed the card and its PortalClient fetched a "
                    "challenge, the app's modules imported; then the bare app"
                ),
                "libraries": (
                    "PyKCS11 (SoftHSM module loaded and kept), cryptography, asn1crypto, "
                    "httpx (imported as the app does, without its command-line client)"
                ),
                "resident_split": split,
            },
        ),
    ]
