"""`eonay` with no subcommand: the terminal app against a real portal and card.

Nothing heavy is imported here: the card and portal services are built by
factories that the app calls in a background thread once its first screen is
drawn. Settings come from `tui.core.config` (flags over `EONAY_*` over the
configuration file), modules from `tui.core.modules` (given, configured or
discovered), the log from `tui.core.logs`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from tui.i18n import _, language_from_environment, set_language

if TYPE_CHECKING:
    from tui.app import EonayApp
    from tui.core.clock import Clock
    from tui.core.services import ServiceFactories
    from tui.core.settings import Settings


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--portal", metavar="URL", help="the portal's base URL")
    parser.add_argument(
        "--module",
        metavar="PATH",
        action="append",
        help="PKCS#11 module of the card (may be repeated)",
    )
    parser.add_argument("--lang", choices=("tr", "en"), help="language of the app")
    parser.add_argument("--ca-bundle", metavar="PEM", help="CA bundle for the portal's TLS")
    parser.add_argument("--config", metavar="PATH", help="configuration file (TOML)")
    parser.add_argument("--kiosk", action="store_true", default=None, help="kiosk mode")
    parser.add_argument("--log-level", metavar="LEVEL", help="DEBUG, INFO, WARNING, ERROR")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Flags over `EONAY_*` over the configuration file (`tui.core.config`).

    A configuration error ends the command here, naming the key and the file.
    """
    from tui.core.config import load_settings
    from tui.core.errors import ConfigError

    try:
        return load_settings(args, os.environ)
    except ConfigError as err:
        print(f"eonay: {err.user_message()}", file=sys.stderr)
        raise SystemExit(2) from None


def discovered_modules(settings: Settings) -> list[str]:
    """The PKCS#11 modules to use: given, configured or discovered (`tui.core.modules`)."""
    from tui.core.modules import discover_for, module_paths

    return module_paths(discover_for(settings, os.environ))


def build_services(settings: Settings, clock: Clock | None = None) -> ServiceFactories:
    """How to build the card and portal services; called in the background, not here."""
    from tui.core.clock import SystemClock
    from tui.core.services import ServiceFactories

    clock = clock or SystemClock()
    modules = discovered_modules(settings)
    portal_url = settings.portal_url or ""
    ca_bundle = settings.ca_bundle

    def card() -> object:
        from tui.core.card import Pkcs11Card

        return Pkcs11Card(modules, clock)

    def portal() -> object:
        from tui.core.portal import PortalClient

        return PortalClient(portal_url, ca_bundle=ca_bundle, clock=clock)

    return ServiceFactories(card=card, portal=portal, clock=clock, module_paths=tuple(modules))  # type: ignore[arg-type]


def log_file(settings: Settings) -> Path | None:
    """Where the log goes, created private now; `start_logging` adds the handler later."""
    from tui.core.logs import prepare_log_file

    try:
        return prepare_log_file(settings, os.environ)
    except OSError:
        return None


def start_logging(settings: Settings) -> Path | None:
    """Log to a file only (redacted, rotated; `tui.core.logs`): the terminal is the app's."""
    from tui.core.logs import setup_logging

    try:
        return setup_logging(settings, os.environ)
    except OSError:
        logging.getLogger().addHandler(logging.NullHandler())
        return None


def run_app(app: EonayApp) -> int:
    """Run the app on the terminal as it is: fd 1 stays the terminal, for Textual to measure.

    Textual asks the terminal's size through `shutil.get_terminal_size()`, which
    reads `COLUMNS` and `LINES` first and file descriptor 1 after them. A stale
    exported `COLUMNS`/`LINES` would pin the layout at a size the terminal no
    longer has and keep resizes from being followed, so they are dropped here.
    Nothing in this process writes to fd 1 while the app runs: Python's `print`
    is captured by Textual, the log goes to its file.
    """
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
    app.run()
    return app.return_code or 0


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    set_language(settings.language or language_from_environment())
    if not settings.portal_url:
        print(_("eonay: give the portal's address with --portal URL"), file=sys.stderr)
        return 2
    if not discovered_modules(settings):
        print(
            _("eonay: give the card's PKCS#11 module with --module PATH (or try `eonay demo`)"),
            file=sys.stderr,
        )
        return 2
    log_path = log_file(settings)

    from tui.app import EonayApp

    app = EonayApp(
        build_services(settings),
        settings,
        log_path=str(log_path) if log_path else None,
        # The handler (logging.handlers brings socket and pickle) once the first screen is drawn.
        after_first_paint=(partial(start_logging, settings),),
    )
    return run_app(app)
