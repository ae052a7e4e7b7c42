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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.core.settings import Settings


def configure(parser: argparse.ArgumentParser) -> None:
    """Its own flag; --lang, --kiosk and the other global ones come from `tui.commands.app`.

    In the demo, --kiosk also shuffles the keypad (no quit key: end it with SIGTERM).
    """
    from tui.commands.portal_sim import code_lifetime
    from tui.i18n import _

    parser.add_argument(
        "--ttl",
        metavar=_("SECONDS"),
        type=code_lifetime,
        default=300.0,
        help=_("seconds a verification code lives, up to 900 (300)"),
    )


@dataclass
class DemoHints:
    """What the demo banner shows: a fresh code from the simulator, and the card's PIN."""

    pin: str
    make_code: Callable[[], str]

    def new_code(self) -> str:
        return self.make_code()


def run(args: argparse.Namespace) -> int:
    """The global flags, `EONAY_*` and the configuration file apply: the language, kiosk mode,
    the log level and the theme; the portal and the card are the demo's own."""
    from tui.commands import simulator_installed
    from tui.commands.app import settings_from_args
    from tui.i18n import _, current_language

    chosen = settings_from_args(args)  # a bad value ends it here, named once
    language = chosen.language or current_language()
    if not simulator_installed("demo"):
        return 2
    print(_("eonay demo: preparing a throwaway card and the portal simulator…"), file=sys.stderr)
    previous_conf = os.environ.get("SOFTHSM2_CONF")
    try:
        with tempfile.TemporaryDirectory(prefix="eonay-demo-") as workdir:
            return _run_in(Path(workdir), language, args.ttl, chosen)
    finally:
        if previous_conf is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous_conf


def _run_in(workdir: Path, language: str, ttl: float, chosen: Settings) -> int:
    from tui.commands.app import build_services, harden_ui_process, run_app, start_logging
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
            theme=chosen.theme,
            plain=chosen.plain,
            screen_reader=chosen.screen_reader,
            log_level=chosen.log_level,
            log_file=workdir / "eonay.log",
            kiosk=chosen.kiosk,
            kiosk_idle_seconds=chosen.kiosk_idle_seconds,
            shuffle_keypad=chosen.kiosk or chosen.shuffle_keypad,
            # Kiosk mode signs allowlisted texts only: the simulator's E-Onay text is one.
            allowlist={**DEFAULT_ALLOWLIST, "e-onay": (E_ONAY_TEXT,)},
        )
        log_path = start_logging(settings)
        harden_ui_process()
        hints = DemoHints(pin=card.pin, make_code=lambda: portal.new_login().code)
        services = build_services(settings, log_path=log_path)
        from tui.plain.mode import plain_wanted

        if plain_wanted(settings, os.environ):
            from tui.plain.command import run_plain

            code = run_plain(services, settings, demo=hints)
        else:
            from tui.app import EonayApp

            code = run_app(EonayApp(services, settings, demo=hints))
    print(_("eonay demo: finished; the demo card and the simulator are gone."), file=sys.stderr)
    return code
