"""The demo flow typed like a person, in a private tmux server at 80x24.

Keyboard only, as the guide's flow goes: the code from the demo banner,
Enter; Enter on the certificate; the PIN, Enter; Enter on "E-ONAY
İşlemleri"; Enter on "Devam Et"; the PIN again, End (signing needs the
whole text on the screen), Enter; the receipt. Before
each key the script pauses a little on purpose (so a key never races a
screen change): those pauses are the scripted waits, reported apart from
the app's own time (key to expected screen).
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from bench.config import Config
from bench.pty_term import terminal_env
from bench.tmux import Tmux

PAUSE_S = 0.2  # scripted: after a screen shows, before the next key
CODE = re.compile(r"Doğrulama Kodu: (\d{14})")
PIN = re.compile(r"PIN: (\d+)")
REFERENCE = re.compile(r"Referans No:\s+(\S+)")
HOLDER = "TEVFİK EDİS"


def _screen(step: int, *texts: str, absent: str | None = None) -> Any:
    """Step `step` of 6 is showing, with all `texts` (and without `absent`)."""

    def check(screen: str) -> bool:
        return (
            f"{step}/6" in screen
            and all(t in screen for t in texts)
            and (absent is None or absent not in screen)
        )

    return check


def run_demo_flow(cfg: Config, n: int) -> dict[str, Any]:
    env = terminal_env({"EONAY_BENCH": "1"})
    with Tmux(f"eonay-bench-flow-{os.getpid()}-{n}", env) as tmux:
        started = tmux.start([cfg.python, "-m", "tui", "demo"], str(cfg.repo))
        screen = tmux.step(
            "exec to code entry (demo card and portal made)",
            lambda s: CODE.search(s) is not None and "1/6" in s,
            since=started,
        )
        match, pin_match = CODE.search(screen), PIN.search(screen)
        assert match and pin_match, screen
        code, pin = match.group(1), pin_match.group(1)
        tmux.step(
            "code, Enter to certificate list",
            _screen(2, HOLDER),
            literal=code,
            keys=["Enter"],
            pause=PAUSE_S,
        )
        tmux.step("Enter to PIN screen", _screen(3, "Kalan süre"), keys=["Enter"], pause=PAUSE_S)
        tmux.step(
            "PIN, Enter: sign, log in, to E-Onay",
            _screen(4, "E-ONAY İşlemleri"),
            literal=pin,
            keys=["Enter"],
            pause=PAUSE_S,
        )
        tmux.step(
            "Enter on E-ONAY İşlemleri",
            _screen(4, "Devam Et", absent="E-ONAY İşlemleri"),
            keys=["Enter"],
            pause=PAUSE_S,
        )
        tmux.step(
            "Enter on Devam Et: E-Onay challenge, PIN screen",
            _screen(5, "Kalan süre"),
            keys=["Enter"],
            pause=PAUSE_S,
        )
        screen = tmux.step(
            "PIN, End (the whole text seen), Enter: sign, E-Onay, receipt",
            lambda s: "6/6" in s and REFERENCE.search(s) is not None,
            literal=pin,
            keys=["End", "Enter"],
            pause=PAUSE_S,
        )
        total = time.perf_counter() - started
        ref = REFERENCE.search(screen)
        steps = [
            {"step": s.name, "app_s": round(s.app_s, 3), "scripted_s": s.scripted_s}
            for s in tmux.steps
        ]
        tmux.send("C-q")
    app_s = sum(s["app_s"] for s in steps)
    scripted_s = sum(s["scripted_s"] for s in steps)
    return {
        "total_s": total,
        "app_s": app_s,
        "scripted_s": scripted_s,
        "harness_s": total - app_s - scripted_s,
        "steps": steps,
        "reference": ref.group(1) if ref else None,
    }
