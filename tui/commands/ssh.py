"""`eonay ssh [ssh options] USER@HOST [-- EONAY-ARGS]`: the card here, eonay there.

Run on the laptop with the card. The work is `tui.core.setup.ssh_card`'s;
this module chooses the card's module as the app does (`--module`, the
configuration, `EONAY_PKCS11_MODULE`, discovery) and turns each way the
session can fail into a message. ssh's own options never reach argparse:
`tui.__main__` sets them aside (`split_arguments`) before parsing.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import replace

from tui.i18n import _

USAGE = "eonay ssh [ssh options] USER@HOST [-- EONAY-ARGS]"
EXIT_USAGE = 2
EXIT_NO_MODULE = 2
EXIT_SERVER_FAILED = 1

log = logging.getLogger("eonay.ssh")


def configure(parser: argparse.ArgumentParser) -> None:
    """No flags of its own: the ssh options and the destination are set aside before argparse."""
    parser.usage = USAGE
    parser.description = _(
        "Run eonay on a server over SSH with the card in this computer: p11-kit server "
        "serves the card's module on a private socket, ssh -R forwards it to the server "
        "for this connection only, and everything is stopped and removed when ssh ends. "
        "Every ssh option is passed on (-p, -i, -J, -o …); the words after -- are eonay's "
        "on the server (e.g. -- certs --json)."
    )
    parser.add_argument(
        "--remote-eonay",
        metavar="COMMAND",
        default="eonay",
        help=_(
            "eonay on the server: a name in its PATH or a path there, e.g. ~/venv/bin/eonay "
            "(default: eonay; ~/.local/bin is looked in too)"
        ),
    )


def card_module(args: argparse.Namespace) -> str | None:
    """The first module found the way the app finds one; None (and a message) when none is."""
    from tui.commands.app import settings_from_args
    from tui.core.setup.modules import discover_for

    candidates = discover_for(settings_from_args(args), os.environ)
    present = [candidate for candidate in candidates if candidate.exists]
    if not present:
        print(
            _(
                "eonay ssh: no PKCS#11 module of a card was found on this computer. Install "
                "the card's driver, or give it with --module PATH "
                "(e.g. --module /usr/lib/libakisp11.so)."
            ),
            file=sys.stderr,
        )
        for candidate in candidates:
            print(
                _("  not found: {path} ({origin})").format(
                    path=candidate.path, origin=candidate.origin
                ),
                file=sys.stderr,
            )
        return None
    if len(present) > 1:
        log.info("several modules found; p11-kit server serves the first: %s", present[0].path)
    return present[0].path


def failure_message(status: int, destination: str) -> str | None:
    """What to say when the session ended on one of the remote command's own codes, or ssh's."""
    from tui.core.setup.ssh_card import EXIT_NO_CLIENT_MODULE, EXIT_NO_EONAY, EXIT_SSH_FAILED

    if status == EXIT_NO_EONAY:
        return _(
            "eonay ssh: eonay is not installed on {host}, or not on the PATH of an SSH command "
            "there (~/.local/bin is looked in too). Install it on the server: pip install eonay"
        ).format(host=destination)
    if status == EXIT_NO_CLIENT_MODULE:
        return _(
            "eonay ssh: p11-kit-client.so is not installed on {host}. Install p11-kit's client "
            "module there (Debian and Ubuntu: apt-get install p11-kit-modules)."
        ).format(host=destination)
    if status == EXIT_SSH_FAILED:
        return _(
            "eonay ssh: ssh could not connect to {host} or forward the card's socket "
            "(ssh's message is above)."
        ).format(host=destination)
    return None


def run(args: argparse.Namespace) -> int:
    from tui.core.setup.ssh_card import CardServerError, MissingTool, SshCommandLine, run_session

    line: SshCommandLine = args.ssh_line
    language = getattr(args, "lang", None)
    if language and not any(w == "--lang" or w.startswith("--lang=") for w in line.eonay_args):
        line = replace(line, eonay_args=("--lang", language, *line.eonay_args))  # there too
    module = card_module(args)
    if module is None:
        return EXIT_NO_MODULE
    log.info("serving %s to %s", module, line.destination)
    try:
        end = run_session(line, module, remote_eonay=args.remote_eonay)
    except (CardServerError, MissingTool) as err:
        print(f"eonay ssh: {err.user_message()}", file=sys.stderr)
        return EXIT_SERVER_FAILED
    if end.signal is not None:
        return 128 + end.signal
    message = failure_message(end.status, line.destination)
    if message is not None:
        print(message, file=sys.stderr)
    return end.status
