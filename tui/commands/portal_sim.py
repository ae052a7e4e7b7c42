"""`eonay portal-sim`: run the portal simulator on this computer.

Prints the URL it listens on (one line on stdout, for scripts), then serves
until Ctrl-C. It trusts the project's TEST ONLY root; `--trust` adds more.
The fault flags switch faults on at start, for trying the app by hand;
`POST /api/v1/sim/faults` switches them while it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tui.i18n import _


def code_lifetime(value: str) -> float:
    """`--ttl`: more than 0 seconds, at most the API's 15 minutes (a longer life is malformed)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 900:
        raise argparse.ArgumentTypeError(
            _("expected seconds from 1 to 900 (got {value!r})").format(value=value)
        )
    return seconds


def configure(parser: argparse.ArgumentParser) -> None:
    from tui.sim.faults import HOSTILE_TEXTS  # light: the names of the hostile texts

    parser.add_argument(
        "--host",
        metavar=_("ADDRESS"),
        default="127.0.0.1",
        help=_("address to listen on (127.0.0.1)"),
    )
    parser.add_argument("--port", type=int, default=0, help=_("port; 0 picks a free one (0)"))
    parser.add_argument(
        "--ttl",
        metavar=_("SECONDS"),
        type=code_lifetime,
        default=300.0,
        help=_("seconds a verification code lives, up to 900 (300)"),
    )
    parser.add_argument(
        "--trust",
        metavar="PEM",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        help=_("more trusted root certificates (PEM files), besides the project's test root"),
    )
    parser.add_argument("--tls-cert", type=Path, help=_("serve HTTPS with this certificate (PEM)"))
    parser.add_argument("--tls-key", type=Path, help=_("the private key of --tls-cert (PEM)"))
    faults = parser.add_argument_group(_("faults (for trying the app by hand)"))
    faults.add_argument(
        "--latency", type=float, default=0.0, help=_("seconds added to each answer")
    )
    faults.add_argument("--fail-next", type=int, default=0, metavar="N", help=_("fail N requests"))
    faults.add_argument(
        "--fail-status", type=int, default=500, choices=(500, 502, 503, 504), help=_("(500)")
    )
    faults.add_argument(
        "--drop-next-signature",
        type=int,
        default=0,
        metavar="N",
        help=_("accept the next N signatures, then drop the connection without answering"),
    )
    faults.add_argument("--malformed-json", type=int, default=0, metavar="N")
    faults.add_argument("--wrong-content-type", type=int, default=0, metavar="N")
    faults.add_argument("--oversized", type=int, default=0, metavar="N")
    faults.add_argument("--oversized-chunked", action="store_true")
    faults.add_argument(
        "--hostile-text",
        choices=tuple(HOSTILE_TEXTS),
        help=_("give every new challenge a text with hidden characters"),
    )


def run(args: argparse.Namespace) -> int:
    from tui.commands import simulator_installed

    if not simulator_installed("portal-sim"):
        return 2
    from tui.sim.faults import Faults
    from tui.sim.portal_app import make_app
    from tui.sim.server import is_loopback, serve
    from tui.sim.state import PortalState, default_trust_roots, load_trust_roots

    if bool(args.tls_cert) != bool(args.tls_key):
        print(_("eonay: --tls-cert and --tls-key go together"), file=sys.stderr)
        return 2
    roots = default_trust_roots()
    for path in args.trust:  # each file on its own, so the message names the one that failed
        try:
            roots += load_trust_roots([path])
        except OSError as exc:
            print(
                _("eonay portal-sim: --trust: cannot read {path}: {error}").format(
                    path=path, error=exc.strerror or exc
                ),
                file=sys.stderr,
            )
            return 2
        except ValueError:
            print(
                _("eonay portal-sim: --trust: {path} holds no PEM certificate").format(path=path),
                file=sys.stderr,
            )
            return 2
    if not is_loopback(args.host):
        print(
            _("eonay: warning: the simulator is listening beyond this computer ({host})").format(
                host=args.host
            ),
            file=sys.stderr,
        )
    faults = Faults()
    faults.update(
        {
            "latency": args.latency,
            "fail_next": args.fail_next,
            "fail_status": args.fail_status,
            "drop_next_signature": args.drop_next_signature,
            "malformed_json": args.malformed_json,
            "wrong_content_type": args.wrong_content_type,
            "oversized": args.oversized,
            "oversized_chunked": args.oversized_chunked,
            "hostile_text": args.hostile_text,
        }
    )
    app = make_app(PortalState(ttl=args.ttl, trust_roots=roots), faults)
    from tui.core.setup.config import preferred

    level = preferred(args, os.environ, "log.level", "log_level")  # uvicorn's, lower case

    def announce(url: str) -> None:
        print(url, flush=True)
        print(
            _("Portal simulator ready. Open {url} for a code; Ctrl-C stops it.").format(url=url),
            file=sys.stderr,
            flush=True,
        )

    try:
        serve(
            app,
            host=args.host,
            port=args.port,
            ssl_certfile=args.tls_cert,
            ssl_keyfile=args.tls_key,
            on_listening=announce,
            log_level=level.lower() if isinstance(level, str) else "warning",
        )
    except OSError as exc:
        print(_("eonay: cannot listen: {error}").format(error=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
