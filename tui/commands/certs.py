"""`eonay certs`: the certificates on every token of the card's PKCS#11 module(s).

Human output is a table; `--json` prints a list of objects for scripts, with
the keys id (CKA_ID, hex), token, holder, serial_masked, issuer, not_after
(RFC 3339), key, qualified, valid_now, usable and reason (null when usable).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from tui.i18n import _

if TYPE_CHECKING:
    from tui.core.card_info import CertificateInfo

EXIT_OK = 0
EXIT_ERROR = 1


def modules_from(args: argparse.Namespace) -> list[str]:
    """--module flags, else the configuration's, else discovery (tui.core.setup.modules).

    The global flags, `EONAY_*` and the configuration file are read as the app
    reads them; a value that cannot be used ends the command, named once.
    Discovery covers EONAY_PKCS11_MODULE, P11_KIT_SERVER_ADDRESS (a card on
    another machine), p11-kit's registered modules and the well-known drivers.
    """
    from tui.commands.app import settings_from_args
    from tui.core.setup.modules import discover_for, module_paths

    paths = module_paths(discover_for(settings_from_args(args), os.environ))
    logging.getLogger("eonay.certs").info("PKCS#11 modules: %s", ", ".join(paths) or "none")
    return paths


def configure(parser: argparse.ArgumentParser) -> None:
    """Its own flags; --module and the other global ones come from `tui.commands.app`."""
    parser.add_argument("--json", action="store_true", help=_("print JSON for scripts"))


def as_json(cert: CertificateInfo) -> dict[str, Any]:
    return {
        "id": cert.id.hex(),
        "token": cert.token.label,
        "token_serial": cert.token.serial,
        "module": cert.token.module_path,
        "label": cert.label,
        "holder": cert.holder,
        "serial_masked": cert.serial_masked,
        "issuer": cert.issuer,
        "not_before": cert.not_before.isoformat(timespec="seconds"),
        "not_after": cert.not_after.isoformat(timespec="seconds"),
        "key": cert.key,
        "key_usage": list(cert.key_usage),
        "fingerprint_sha256": cert.fingerprint_sha256,
        "qualified": cert.qualified,
        "valid_now": cert.valid_now,
        "usable": cert.usable,
        "reason": cert.reason,
        "pin_state": cert.token.pin_state.tries.value,
    }


def _table(certs: list[CertificateInfo]) -> str:
    from tui.core.reasons import reason_text
    from tui.core.text import display_safe

    headers = [
        _("ID"),
        _("Holder"),
        _("T.C. No"),
        _("Key"),
        _("Valid until"),
        _("Qualified"),
        _("Token"),
        _("Status"),
    ]
    rows = []
    for c in certs:
        status = _("usable") if c.usable else reason_text(c.reason or "")
        rows.append(
            [
                c.id.hex(),
                display_safe(c.holder, 40),
                c.serial_masked,
                c.key,
                c.not_after.astimezone().strftime("%Y-%m-%d"),
                _("yes") if c.qualified else _("no"),
                display_safe(c.token.label, 32),
                status,
            ]
        )
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for r in rows:
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tui.core.card.client import CardProcessClient
    from tui.core.errors import EonayError

    modules = modules_from(args)
    if not modules:
        print(_("eonay: give the card's PKCS#11 module with --module PATH"), file=sys.stderr)
        return 2
    card = CardProcessClient(modules)  # the driver runs in a card process of its own
    try:
        certs = card.certificates()
    except EonayError as err:
        print(f"eonay: {err.user_message()}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        card.close()
    for path, error in card.load_errors.items():
        print(f"eonay: {path}: {error.user_message()}", file=sys.stderr)
    if args.json:
        json.dump([as_json(c) for c in certs], sys.stdout, ensure_ascii=False, indent=2)
        print()
        return EXIT_OK
    if not certs:
        print(_("No certificates found. Is the card inserted, and is this its driver?"))
        for path in modules:
            print(f"  --module {path}")
        return EXIT_OK
    print(_table(certs))
    return EXIT_OK
