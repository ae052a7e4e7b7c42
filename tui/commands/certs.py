"""`eonay certs`: the certificates on every token of the card's PKCS#11 module(s).

Human output is a table; `--json` prints a list of objects for scripts, with
the keys id (CKA_ID, hex), token, holder, serial_masked, issuer, not_after
(RFC 3339), key, qualified, valid_now, usable and reason (null when usable).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from tui.i18n import _, language_from_environment, set_language

if TYPE_CHECKING:
    from tui.core.cards import CertificateInfo

EXIT_OK = 0
EXIT_ERROR = 1


def add_module_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--module",
        metavar="PATH",
        action="append",
        help="PKCS#11 module of the card (may be repeated; default: discovered, "
        "see the README's \"Finding the card's driver\")",
    )


def modules_from(args: argparse.Namespace) -> list[str]:
    """--module flags, else the configuration file's, else discovery (tui.core.modules).

    Discovery covers EONAY_PKCS11_MODULE, P11_KIT_SERVER_ADDRESS (a card on
    another machine), p11-kit's registered modules and the well-known drivers.
    """
    from tui.core.config import load_settings
    from tui.core.errors import ConfigError
    from tui.core.modules import discover_for, module_paths
    from tui.core.settings import Settings

    try:
        settings = load_settings(argparse.Namespace(module=args.module))
    except ConfigError as err:
        print(f"eonay: {err.user_message()}", file=sys.stderr)
        flagged = tuple(args.module or ())
        settings = Settings(modules=flagged, modules_origin="--module" if flagged else None)
    return module_paths(discover_for(settings, os.environ))


def use_environment_language() -> None:
    with contextlib.suppress(ValueError):
        set_language(language_from_environment())


def configure(parser: argparse.ArgumentParser) -> None:
    add_module_flag(parser)
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


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
    use_environment_language()
    from tui.core.card_client import CardProcessClient
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
