"""The real app, started the way a user starts it: `python -m tui --portal URL --module PATH`.

The card is a SoftHSM2 token provisioned by the project's own test PKI in a
private SOFTHSM2_CONF; the portal is the project's simulator on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.config import Config
from bench.pty_term import PtyRun, terminal_env

# What the code-entry screen shows once it is drawn (Turkish, the default language).
CODE_ENTRY_TEXT = "Doğrulama Kodu"
# The countdown (on the certificate list and the PIN screens).
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


@dataclass(frozen=True)
class Opened:
    """When the key that opened a screen was sent (0.0: exec), and when its text showed."""

    pressed: float
    shown: float


def _press_enter(run: PtyRun, shows: Callable[[str], bool] | str) -> Opened:
    run.wait_quiet(0.3)  # the previous screen has settled: its bytes are not this one's
    pressed = run.now()
    run.send("\r")
    return Opened(pressed, run.wait_for(shows, timeout=30))


def drive_to_pin_screen(run: PtyRun, app: AppEnv) -> dict[str, Opened]:
    """Type a fresh code, Enter; Enter on the certificate. Each screen on the way, opened."""
    code = Opened(0.0, run.wait_for(CODE_ENTRY_TEXT, timeout=30))
    run.wait_quiet(0.3)
    run.type(app.new_login_code())
    certificates = _press_enter(
        run, lambda screen: app.holder in screen and CODE_ENTRY_TEXT not in screen
    )
    # The countdown shows from step 2 on: the PIN screen is step 3 with it.
    pin = _press_enter(run, lambda s: "3/6" in s and COUNTDOWN_TEXT in s)
    return {"code_entry": code, "certificate_select": certificates, "pin": pin}


def drive_to_eonay_pin_screen(run: PtyRun, app: AppEnv) -> dict[str, Opened]:
    """From the login PIN screen on: the PIN, Enter (signed, logged in); Enter on
    "E-ONAY İşlemleri"; Enter on "Devam Et", until the E-Onay PIN screen (step 5
    of 6) counts down."""
    run.type(app.card.pin)
    confirm = _press_enter(run, "E-ONAY İşlemleri")
    go_on = _press_enter(run, lambda s: "Devam Et" in s and "E-ONAY İşlemleri" not in s)
    pin = _press_enter(run, lambda s: "5/6" in s and COUNTDOWN_TEXT in s)
    return {"e_onay_confirm": confirm, "e_onay_continue": go_on, "e_onay_pin": pin}


def drive_to_done(run: PtyRun, app: AppEnv) -> Opened:
    """On the E-Onay PIN screen: the PIN, End (the app signs only a text whose end was on
    the screen, and the portal's E-Onay text is longer than its box at 80x24), Enter
    (signed, E-Onay given), until the receipt."""
    run.type(app.card.pin)
    run.send("\x1b[F")  # End
    run.wait_for(lambda s: "devamı aşağıda" not in s, timeout=30)
    return _press_enter(run, lambda s: "6/6" in s)
