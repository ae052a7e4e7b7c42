"""`eonay doctor`: check the card, its driver, the portal and the configuration.

Prints one line per check, ✓ (fine), ! (worth knowing) or ✗ (broken) with a
fix hint under each problem; `--json` prints the same report for machines.
Exits 0 only when no check failed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from tui.core.setup.doctor import Report

EXIT_OK = 0
EXIT_PROBLEMS = 1

_MARKS = {"ok": "✓", "warning": "!", "error": "✗"}
_ASCII_MARKS = {"ok": "OK", "warning": "WARN", "error": "FAIL"}
_COLOURS = {"ok": "32", "warning": "33", "error": "31"}


def configure(parser: argparse.ArgumentParser) -> None:
    """Its own flag; --module, --portal and the other global ones come from `tui.commands.app`."""
    from tui.i18n import _

    parser.add_argument("--json", action="store_true", help=_("print the report as JSON"))
    parser.add_argument(
        "--bundle",
        metavar="FILE",
        help=_(
            "also write a redacted support archive (.tar.gz) for a help desk to FILE: the "
            "report, versions, modules, a PKCS#11 call trace of one listing, the terminal "
            "and the log's last lines"
        ),
    )


def json_failure(message: str) -> dict[str, object]:
    """The report when the command line stopped doctor before any check (`tui.__main__`)."""
    check = {
        "id": "usage",
        "ok": False,
        "status": "error",
        "title": message,
        "detail": "",
        "hint": None,
        "subject": None,
    }
    return {"schema": 1, "ok": False, "checks": [check]}


def _marks(stream: TextIO) -> dict[str, str]:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "✓✗".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return _ASCII_MARKS
    return _MARKS


def _colour(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def render(report_json: dict[str, object], stream: TextIO) -> None:
    """The report for people: a mark and a title per check; detail and fix below."""
    from tui.i18n import _

    marks = _marks(stream)
    colour = _colour(stream)
    checks = report_json["checks"]
    assert isinstance(checks, list)
    for check in checks:
        status = check["status"]
        mark = marks[status]
        if colour:
            mark = f"\x1b[{_COLOURS[status]}m{mark}\x1b[0m"
        stream.write(f"{mark} {check['title']}\n")
        if check["detail"]:
            stream.write(f"    {check['detail']}\n")
        if check["hint"]:
            fix = _("fix: {hint}").format(hint=check["hint"])
            stream.write("    → " + fix.replace("\n", "\n      ") + "\n")
    failed = sum(1 for check in checks if not check["ok"])
    if failed:
        stream.write("\n" + _("{n} problem(s) found.").format(n=failed) + "\n")
    else:
        stream.write("\n" + _("All is well.") + "\n")


def run(args: argparse.Namespace) -> int:
    from tui.core.setup.doctor import load_settings_leniently, run_checks
    from tui.i18n import language_from_environment, set_language

    settings, _checks = load_settings_leniently(args, os.environ)
    set_language(settings.language or language_from_environment())
    report = run_checks(args)
    data = report.to_json()
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        render(data, sys.stdout)
    bundle = getattr(args, "bundle", None)
    if bundle and not write_bundle_file(Path(bundle), report, data):
        return EXIT_PROBLEMS
    return EXIT_OK if report.ok else EXIT_PROBLEMS


def write_bundle_file(target: Path, report: Report, data: dict[str, object]) -> bool:
    """`--bundle FILE`: the archive, and one line on stderr (stdout may be the JSON)."""
    from tui.core.setup.bundle import write_bundle
    from tui.core.setup.modules import discover_for
    from tui.i18n import _

    text = io.StringIO()
    render(data, text)
    candidates = discover_for(report.settings, os.environ)
    try:
        write_bundle(target, data, text.getvalue(), candidates, report.settings, os.environ)
    except OSError as exc:
        message = _("eonay doctor: cannot write the support archive {path}: {error}")
        sys.stderr.write(message.format(path=target, error=exc.strerror or exc) + "\n")
        return False
    message = _("Support archive (tar.gz, redacted) written to {path}; read it before sending it.")
    sys.stderr.write(message.format(path=target) + "\n")
    return True
