"""`eonay` with no subcommand: the terminal app against a real portal and card.

Nothing heavy is imported here: the card and portal services are built by
factories that the app calls in a background thread once its first screen is
drawn. Settings come from `tui.core.setup.config` (flags over `EONAY_*` over the
configuration file), modules from `tui.core.setup.modules` (given, configured or
discovered), the log from `tui.core.setup.logs`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from tui.i18n import _, language_from_environment, set_language

if TYPE_CHECKING:
    from tui.app import EonayApp
    from tui.core.clock import Clock
    from tui.core.services import ServiceFactories
    from tui.core.settings import Settings
    from tui.core.setup.settings_check import SettingProblem


def configure(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """The global flags: on `eonay` itself, and with `suppress` on every subcommand.

    Under a subcommand their default is SUPPRESS, so that a flag given before
    the subcommand (`eonay --lang en certs`) is not reset by the subcommand's
    parser; given after it (`eonay certs --lang en`) it counts the same.
    """
    from tui.core.setup.config import LANGUAGES, LOG_LEVELS

    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group(_("global options (before or after the command)"))
    group.add_argument("--portal", metavar="URL", default=default, help=_("the portal's base URL"))
    group.add_argument(
        "--module",
        metavar=_("PATH"),
        action="append",
        default=default,
        help=_("PKCS#11 module of the card (may be repeated)"),
    )
    group.add_argument(
        "--lang",
        metavar="|".join(LANGUAGES),
        default=default,
        help=_("language of the messages and of this help"),
    )
    group.add_argument(
        "--ca-bundle", metavar="PEM", default=default, help=_("CA bundle for the portal's TLS")
    )
    group.add_argument(
        "--config", metavar=_("PATH"), default=default, help=_("configuration file (TOML)")
    )
    group.add_argument(
        "--kiosk",
        action="store_true",
        default=default,
        help=_("kiosk mode: no quit keys, everything cleared after each use"),
    )
    group.add_argument(
        "--plain",
        action="store_true",
        default=default,
        help=_("plain lines of text, for screen readers and braille displays (also TERM=dumb)"),
    )
    group.add_argument(
        "--screen-reader",
        action="store_true",
        default=default,
        help=_(
            "full-screen app: the time left in words, changed only when it is said "
            "(at the PIN, then at 60, 30 and 10 seconds)"
        ),
    )
    group.add_argument(
        "--log-level",
        metavar=_("LEVEL"),
        default=default,
        help=_("how much goes into the log: {levels}").format(levels=", ".join(LOG_LEVELS)),
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Flags over `EONAY_*` over the configuration file (`tui.core.setup.config`).

    A configuration error ends the command here, naming the key and the file.
    """
    from tui.commands import usage_failed
    from tui.core.errors import ConfigError
    from tui.core.setup.config import load_settings

    try:
        return load_settings(args, os.environ)
    except ConfigError as err:
        usage_failed(err.user_message())


def discovered_modules(settings: Settings) -> list[str]:
    """The PKCS#11 modules to use: given, configured or discovered (`tui.core.setup.modules`)."""
    from tui.core.setup.modules import discover_for, module_paths

    return module_paths(discover_for(settings, os.environ))


def build_services(
    settings: Settings, clock: Clock | None = None, *, log_path: Path | None = None
) -> ServiceFactories:
    """How to build the card and portal services; called in the background, not here.

    The card is a `CardProcessClient`: the PKCS#11 driver runs in a card process
    (its prints go to `log_path`), and PyKCS11 is never imported by the app. The
    card process keeps the system clock.
    """
    from tui.core.clock import SystemClock
    from tui.core.services import ServiceFactories
    from tui.core.setup.modules import discover_for, module_paths

    clock = clock or SystemClock()
    candidates = discover_for(settings, os.environ)
    modules = module_paths(candidates)
    portal_url = settings.portal_url or ""
    ca_bundle = settings.ca_bundle
    text_scripts = settings.text_scripts  # the scripts a text to sign may use: checked on arrival

    def card() -> object:
        from tui.core.card.client import CardProcessClient

        return CardProcessClient(modules, log_path=log_path)

    def portal() -> object:
        from tui.core.portal.client import PortalClient

        return PortalClient(portal_url, ca_bundle=ca_bundle, clock=clock, text_scripts=text_scripts)

    def check_settings() -> Sequence[SettingProblem]:
        from tui.core.setup.settings_check import settings_problems

        return settings_problems(portal_url, candidates)

    return ServiceFactories(
        card=card,  # type: ignore[arg-type]
        portal=portal,  # type: ignore[arg-type]
        clock=clock,
        module_paths=tuple(modules),
        check_settings=check_settings,
    )


def log_file(settings: Settings) -> Path | None:
    """Where the log goes, created private now; `start_logging` adds the handler later."""
    from tui.core.setup.logs import prepare_log_file

    try:
        return prepare_log_file(settings, os.environ)
    except OSError:
        return None


def start_logging(settings: Settings) -> Path | None:
    """Log to a file only (redacted, rotated; `tui.core.setup.logs`): the terminal is the app's."""
    from tui.core.setup.logs import setup_logging

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


def harden_ui_process() -> None:
    """PIN keystrokes pass through this process: not dumpable, no core files."""
    from tui.core.hardening import HardeningError, harden_process

    try:
        harden_process()
    except HardeningError as err:  # told in the log; the card process refuses to run unhardened
        logging.getLogger("eonay").warning("could not harden the app's process: %s", err)


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
    harden_ui_process()
    from tui.plain.mode import plain_wanted

    if plain_wanted(settings, os.environ):
        from tui.plain.command import run_plain

        start_logging(settings)
        return run_plain(
            build_services(settings, log_path=log_path),
            settings,
            log_path=str(log_path) if log_path else None,
        )

    from tui.app import EonayApp

    app = EonayApp(
        build_services(settings, log_path=log_path),
        settings,
        log_path=str(log_path) if log_path else None,
        # The handler (logging.handlers brings socket and pickle) once the first screen is drawn.
        after_first_paint=(partial(start_logging, settings),),
    )
    return run_app(app)
