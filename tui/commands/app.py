"""`eonay` with no subcommand: the terminal app against a real portal and card."""

from __future__ import annotations

import argparse
import sys


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


def run(args: argparse.Namespace) -> int:
    print("eonay: the app is not built yet", file=sys.stderr)
    return 2
