"""The real app, started the way a user starts it: `python -m tui --portal URL --module PATH`.

The card is a SoftHSM2 token provisioned by the project's own test PKI in a
private SOFTHSM2_CONF; the portal is the project's simulator on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bench.config import Config
from bench.pty_term import PtyRun, terminal_env

# What the code-entry screen shows once it is drawn (Turkish, the default language).
CODE_ENTRY_TEXT = "Doğrulama Kodu"
# The PIN screen's countdown.
COUNTDOWN_TEXT = "Kalan süre"


@dataclass
class AppEnv:
    cfg: Config
    card: Any  # tui.sim.softhsm.ProvisionedCard
    portal: Any  # tui.sim.server.RunningPortal

    @property
    def env(self) -> dict[str, str]:
        return terminal_env({"SOFTHSM2_CONF": str(self.card.conf_path)})

    @property
    def holder(self) -> str:
        return str(self.card.holders[0].name)

    def argv(self, *extra: str) -> list[str]:
        return [
            self.cfg.python,
            "-m",
            "tui",
            "--portal",
            self.portal.url,
            "--module",
            self.card.module_path,
            *extra,
        ]

    def new_login_code(self) -> str:
        """What the portal's "E-imzalı Giriş" page does: issue a fresh code."""
        return str(self.portal.new_login().code)


@contextlib.contextmanager
def app_env(cfg: Config, name: str) -> Iterator[AppEnv]:
    """The demo's card (one holder, one qualified certificate) and a running simulator."""
    from tui.sim.server import running_portal
    from tui.sim.softhsm import demo_holders, provision_card

    card = provision_card(cfg.workdir / name, demo_holders())
    with running_portal() as portal:
        yield AppEnv(cfg, card, portal)


def drive_to_pin_screen(run: PtyRun, app: AppEnv) -> tuple[float, float]:
    """Type a fresh code, Enter; Enter on the certificate.

    Returns (when the Enter that opens the PIN screen was pressed, when it showed).
    """
    run.wait_for(CODE_ENTRY_TEXT, timeout=30)
    run.wait_quiet(0.3)
    run.type(app.new_login_code())
    run.send("\r")
    run.wait_for(lambda screen: app.holder in screen and CODE_ENTRY_TEXT not in screen, timeout=30)
    run.wait_quiet(0.3)
    pressed = run.now()
    run.send("\r")
    shown = run.wait_for(COUNTDOWN_TEXT, timeout=30)
    return pressed, shown


def drive_to_eonay_pin_screen(run: PtyRun, app: AppEnv) -> float:
    """From the login PIN screen on: the PIN, Enter (signed, logged in); Enter on
    "E-ONAY İşlemleri"; Enter on "Devam Et". Returns when the E-Onay PIN screen
    (step 5 of 6) counts down."""
    run.type(app.card.pin)
    run.send("\r")
    run.wait_for("E-ONAY İşlemleri", timeout=30)
    run.wait_quiet(0.3)
    run.send("\r")
    run.wait_for(lambda s: "Devam Et" in s and "E-ONAY İşlemleri" not in s, timeout=30)
    run.wait_quiet(0.3)
    run.send("\r")
    return run.wait_for(lambda s: "5/6" in s and COUNTDOWN_TEXT in s, timeout=30)
