"""`eonay demo`: the whole guide on a throwaway SoftHSM card and the portal simulator.

A temporary directory holds a fresh SoftHSM token with the demo holder's
key and certificate (from the test PKI); the simulator serves on a free port
of 127.0.0.1. A banner shows the verification code and the PIN, standing in
for the portal's page. Then the very same app runs as in production. On the
way out the server stops and the directory is removed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=("tr", "en"), help="language of the app")
    parser.add_argument(
        "--ttl", type=float, default=300.0, help="seconds a verification code lives (300)"
    )
    parser.add_argument(
        "--kiosk",
        action="store_true",
        help="kiosk mode, with a shuffled keypad (no quit key: end it with SIGTERM)",
    )


@dataclass
class DemoHints:
    """What the demo banner shows: a fresh code from the simulator, and the card's PIN."""

    pin: str
    make_code: Callable[[], str]

    def new_code(self) -> str:
        return self.make_code()


def run(args: argparse.Namespace) -> int:
    from tui.i18n import _, language_from_environment, set_language

    language = args.lang or language_from_environment()
    set_language(language)
    print(_("eonay demo: preparing a throwaway card and the portal simulator…"), file=sys.stderr)
    previous_conf = os.environ.get("SOFTHSM2_CONF")
    try:
        with tempfile.TemporaryDirectory(prefix="eonay-demo-") as workdir:
            return _run_in(Path(workdir), language, args.ttl, kiosk=args.kiosk)
    finally:
        if previous_conf is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous_conf


def _run_in(workdir: Path, language: str, ttl: float, *, kiosk: bool = False) -> int:
    from tui.commands.app import build_services, run_app, start_logging
    from tui.core.settings import DEFAULT_ALLOWLIST, Settings
    from tui.i18n import _
    from tui.sim.server import running_portal
    from tui.sim.softhsm import demo_holders, provision_card
    from tui.sim.state import E_ONAY_TEXT

    card = provision_card(workdir / "card", holders=demo_holders())
    # SoftHSM reads SOFTHSM2_CONF once, at C_Initialize: set it before the app loads the module.
    os.environ.update(card.env)
    with running_portal(ttl=ttl, log_level="error") as portal:
        settings = Settings(
            portal_url=portal.url,
            modules=(card.module_path,),
            language=language,
            log_file=workdir / "eonay.log",
            kiosk=kiosk,
            shuffle_keypad=kiosk,
            # Kiosk mode signs allowlisted texts only: the simulator's E-Onay text is one.
            allowlist={**DEFAULT_ALLOWLIST, "e-onay": (E_ONAY_TEXT,)},
        )
        start_logging(settings)
        from tui.app import EonayApp

        hints = DemoHints(pin=card.pin, make_code=lambda: portal.new_login().code)
        app = EonayApp(build_services(settings), settings, demo=hints)
        code = run_app(app)
    print(_("eonay demo: finished; the demo card and the simulator are gone."), file=sys.stderr)
    return code
