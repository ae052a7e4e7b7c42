"""`eonay certs`: the certificates on every token of the card's PKCS#11 module(s).

Human output is a table; `--json` prints one object for scripts, always, also
when something fails: `{"schema": 1, "ok": ..., "certificates": [...],
"errors": [...]}`. Each certificate has the keys id (CKA_ID, hex), token,
holder, serial_masked, issuer, not_after (RFC 3339), key, qualified,
valid_now, usable and reason (null when usable); each error a code, a message
for people and the module it is about (or null).

Exit status: 0 a certificate can sign; 1 the card or its driver failed;
2 bad usage (no module); 3 no certificate on the card can sign.
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
EXIT_USAGE = 2
EXIT_NONE_USABLE = 3
JSON_SCHEMA = 1


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


def json_answer(
    certs: list[CertificateInfo], errors: list[dict[str, str | None]], code: int
) -> dict[str, Any]:
    """The one object `--json` prints, whatever happened; `ok` says what the exit code says."""
    return {
        "schema": JSON_SCHEMA,
        "ok": code == EXIT_OK,
        "certificates": [as_json(c) for c in certs],
        "errors": errors,
    }


def json_error(code: str, message: str, module: str | None = None) -> dict[str, str | None]:
    return {"code": code, "message": message, "module": module}


def json_failure(message: str) -> dict[str, Any]:
    """The answer when the command line or the settings stopped the command (`tui.__main__`)."""
    return json_answer([], [json_error("usage", message)], EXIT_USAGE)


def print_json(data: dict[str, Any]) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    print()


def run(args: argparse.Namespace) -> int:
    from tui.core.card.client import CardProcessClient
    from tui.core.errors import EonayError

    want_json = bool(getattr(args, "json", False))
    modules = modules_from(args)
    if not modules:
        message = _("give the card's PKCS#11 module with --module PATH")
        print(f"eonay: {message}", file=sys.stderr)
        if want_json:
            print_json(json_answer([], [json_error("no_module", message)], EXIT_USAGE))
        return EXIT_USAGE
    card = CardProcessClient(modules)  # the driver runs in a card process of its own
    errors: list[dict[str, str | None]] = []
    certs: list[CertificateInfo] = []
    failed = False
    try:
        certs = card.certificates()
    except EonayError as err:
        failed = True
        errors.append(json_error(err.code, err.user_message(), getattr(err, "path", None)))
    finally:
        card.close()
    for path, error in card.load_errors.items():
        if not any(e["module"] == path for e in errors):
            errors.append(json_error(error.code, error.user_message(), path))
    if failed:
        code = EXIT_ERROR
    elif any(c.usable for c in certs):
        code = EXIT_OK
    elif not certs and errors:  # nothing was read and a driver failed: that is the cause
        code = EXIT_ERROR
    else:
        code = EXIT_NONE_USABLE
        errors.append(json_error("no_usable_certificate", _no_usable_message(certs)))
    for problem in errors:
        print(f"eonay: {problem['message']}", file=sys.stderr)
    if want_json:
        print_json(json_answer(certs, errors, code))
    elif certs:
        print(_table(certs))
    elif code == EXIT_NONE_USABLE:
        for path in modules:
            print(f"  --module {path}", file=sys.stderr)
    return code


def _no_usable_message(certs: list[CertificateInfo]) -> str:
    if not certs:
        return _("No certificates found. Is the card inserted, and is this its driver?")
    return _("No certificate on the card can sign: each one's reason is in the list.")
