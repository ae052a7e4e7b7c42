"""The real app, started the way a user starts it: `python -m tui --portal URL --module PATH`.

The card is a SoftHSM2 token provisioned by the project's own test PKI in a
private SOFTHSM2_CONF; the portal is the project's simulator on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import Config
from bench.pty_term import terminal_env
from bench.softhsm import MODULE, softhsm_conf

# What the code-entry screen shows once it is drawn (Turkish, the default language).
CODE_ENTRY_TEXT = "Doğrulama Kodu"
# The PIN screen's countdown.
COUNTDOWN_TEXT = "Kalan süre"


@dataclass
class AppEnv:
    cfg: Config
    workdir: Path
    conf: Path
    portal_url: str
    card: Any = None  # the ProvisionedCard

    @property
    def env(self) -> dict[str, str]:
        return terminal_env({"SOFTHSM2_CONF": str(self.conf)})

    def argv(self, *extra: str) -> list[str]:
        return [
            self.cfg.python,
            "-m",
            "tui",
            "--portal",
            self.portal_url,
            "--module",
            MODULE,
            *extra,
        ]

    def new_login_code(self) -> str:
        """What the portal's "E-imzalı Giriş" page does: issue a fresh code."""
        req = urllib.request.Request(
            self.portal_url.rstrip("/") + "/api/v1/sim/logins",
            data=b"{}",
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return str(json.load(resp)["code"])


@contextlib.contextmanager
def app_env(cfg: Config, name: str) -> Iterator[AppEnv]:
    """A provisioned card and a running portal for the app under test."""
    from tui.sim.server import running_portal  # the project's simulator
    from tui.sim.softhsm import provision_card  # the project's test PKI on SoftHSM

    workdir = cfg.workdir / name
    workdir.mkdir(parents=True, exist_ok=True)
    card = provision_card(workdir)
    conf = Path(card.conf) if hasattr(card, "conf") else softhsm_conf(workdir)
    with running_portal(**_portal_args(card)) as portal:
        url = portal if isinstance(portal, str) else str(portal.url)
        yield AppEnv(cfg, workdir, conf, url, card)


def _portal_args(card: Any) -> dict[str, Any]:
    return {}
