"""`eonay doctor --bundle FILE`: one redacted archive (.tar.gz) to send to a help desk.

What a help desk asks for first, in one file: the doctor report (JSON and
text), the versions, the modules found, which PKCS#11 calls one listing made
and what each returned, the terminal, and the log's last lines. Every member
passes `redact(..., strict=True)` before it is written (for JSON: every
string in it), so no PIN, session token, verification code or T.C. kimlik
number leaves the machine; the trace holds function names and return codes
only, never an argument or an object's value.
"""

from __future__ import annotations

import io
import json
import os
import platform
import re
import shutil
import sys
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui import __version__
from tui.core.settings import Settings
from tui.core.setup.logs import log_path, redact
from tui.core.setup.modules import ModuleCandidate

FORMAT = "tar.gz"
ROOT = "eonay-doctor"
LOG_LINES = 200
# what a help desk needs of the environment; nothing else of it is taken
ENV_KEPT = ("TERM", "COLORTERM", "LANG", "LC_ALL", "LC_MESSAGES", "NO_COLOR", "TERM_PROGRAM")
PACKAGES = ("textual", "PyKCS11", "cryptography", "asn1crypto", "httpx")


def clean(value: Any) -> Any:
    """`value` (JSON data) with every string, key or value, through the strict redactor."""
    if isinstance(value, str):
        return redact(value, strict=True)
    if isinstance(value, Mapping):
        return {clean(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, bool | float) or value is None:
        return value
    if isinstance(value, int):
        return clean(str(value)) if abs(value) >= 1000 else value
    return clean(str(value))


def versions() -> dict[str, Any]:
    import importlib.metadata

    packages: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "eonay": __version__,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "packages": packages,
        "os": platform.platform(),
        "os_release": _os_release(),
    }


def _os_release() -> str | None:
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _sep, value = line.partition("=")
        if key == "PRETTY_NAME":
            return value.strip().strip('"')
    return None


def modules_found(candidates: Sequence[ModuleCandidate]) -> list[dict[str, Any]]:
    return [
        {"path": c.path, "source": str(c.source), "origin": c.origin, "exists": c.exists}
        for c in candidates
    ]


def terminal(environ: Mapping[str, str]) -> dict[str, Any]:
    """The terminal's type and size, as the app would see them."""
    size = None
    for stream in (sys.stdout, sys.stderr, sys.stdin):
        try:
            columns, lines = os.get_terminal_size(stream.fileno())
        except (OSError, ValueError, AttributeError):
            continue
        size = {"columns": columns, "lines": lines}
        break
    fallback = shutil.get_terminal_size()
    return {
        "is_a_terminal": size is not None,
        "size": size or {"columns": fallback.columns, "lines": fallback.lines},
        "environment": {name: environ[name] for name in ENV_KEPT if name in environ},
    }


@dataclass
class Trace:
    """The PKCS#11 calls of one listing: module, function and return value, in order."""

    lines: list[str]

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def trace_listing(paths: Sequence[str]) -> Trace:
    """List the certificates once, as the app does, recording every PKCS#11 call.

    No PIN is asked for, so none can be in it; the trace keeps names and codes.
    """
    from tui.core.card.pkcs11 import Pkcs11Module, rv_name
    from tui.core.card.pkcs11_card import Pkcs11Card
    from tui.core.errors import EonayError

    lines: list[str] = []

    def opener(path: str) -> Pkcs11Module:
        name = Path(path).name
        try:
            module = Pkcs11Module(path)
        except EonayError as exc:
            lines.append(f"{name}: C_Initialize (loading) failed: {exc}")
            raise
        lines.append(f"{name}: C_Initialize (loading) -> CKR_OK")
        module.functions.trace = lambda function, rv: lines.append(
            f"{name}: {function} -> {rv_name(rv)}"
        )
        return module

    card = Pkcs11Card(list(paths), opener=opener)
    try:
        started = time.monotonic()
        try:
            certificates = card.certificates()
        except EonayError as exc:
            lines.append(f"listing failed: {type(exc).__name__}: {exc}")
        else:
            lines.append(
                f"listing: {len(certificates)} certificate(s) in {time.monotonic() - started:.3f} s"
            )
        for path, problem in card.load_errors.items():
            lines.append(f"{Path(path).name}: not used: {problem}")
    finally:
        card.close()
    return Trace(lines)


def log_tail(settings: Settings, environ: Mapping[str, str], lines: int = LOG_LINES) -> str:
    """The log's last `lines` lines, reaching into the rotated file when the current is short."""
    path = log_path(settings, environ)
    out: list[str] = []
    for file in (path, path.with_name(path.name + ".1")):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        out = text.splitlines()[-(lines - len(out)) :] + out
        if len(out) >= lines:
            break
    if not out:
        return f"(no log at {path})\n"
    return "\n".join(out[-lines:]) + "\n"


# the log format's leading time ("2026-12-03 13:26:01,123 "): kept, the rest redacted
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} )(.*)")


def redact_log(text: str) -> str:
    """The log, strictly redacted line by line; a line's leading time stays readable."""
    out = []
    for line in text.splitlines():
        stamped = _STAMP.fullmatch(line)
        if stamped:
            out.append(stamped.group(1) + redact(stamped.group(2), strict=True))
        else:
            out.append(redact(line, strict=True))
    return "\n".join(out) + "\n"


def write_bundle(
    target: Path,
    report_json: dict[str, Any],
    report_text: str,
    candidates: Sequence[ModuleCandidate],
    settings: Settings,
    environ: Mapping[str, str],
    trace: Callable[[Sequence[str]], Trace] = trace_listing,
) -> list[str]:
    """Write the archive to `target` (private, replaced whole); returns its members' names."""
    paths = [c.path for c in candidates if c.exists]
    listing = trace(paths).text() if paths else "no module to list with\n"
    members: dict[str, str] = {
        "README.txt": _readme(),
        "report.json": _json(report_json),
        "report.txt": redact(report_text, strict=True),
        "versions.json": _json(versions()),
        "modules.json": _json(modules_found(candidates)),
        "pkcs11-trace.txt": redact(listing, strict=True),
        "terminal.json": _json(terminal(environ)),
        "eonay.log": redact_log(log_tail(settings, environ)),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            now = time.time()
            for name, text in members.items():
                data = text.encode("utf-8")
                info = tarfile.TarInfo(f"{ROOT}/{name}")
                info.size = len(data)
                info.mtime = int(now)
                info.mode = 0o600
                archive.addfile(info, io.BytesIO(data))
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return [f"{ROOT}/{name}" for name in members]


def _json(data: Any) -> str:
    return json.dumps(clean(data), ensure_ascii=False, indent=2) + "\n"


def _readme() -> str:
    return (
        "eonay doctor --bundle: a support archive for a help desk.\n\n"
        "report.json, report.txt  the doctor report\n"
        "versions.json            eonay, Python, the libraries, the operating system\n"
        "modules.json             the PKCS#11 modules found, and where from\n"
        "pkcs11-trace.txt         each PKCS#11 call of one certificate listing and its\n"
        "                         return value (no PIN is asked; no argument is kept)\n"
        "terminal.json            the terminal's type and size\n"
        f"eonay.log                the log's last {LOG_LINES} lines\n\n"
        "Everything was redacted first: PINs, passwords, session tokens, cookies and\n"
        "every run of 4 or more digits (verification codes, T.C. kimlik numbers) are\n"
        "replaced. Read it before sending it.\n"
    )
