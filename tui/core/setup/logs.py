"""The log file: in the XDG state directory, rotated, and redacted before writing.

A log is what people attach to bug reports, so nothing secret may reach it:
every record passes `RedactingFilter`, which blanks anything that looks like
a PIN or PUK field, a password, a session token, an Authorization or Cookie
header, and masks T.C. kimlik numbers and 14-digit verification codes (in URLs
too: `GET /api/v1/challenges/**********1234`). The PIN itself never reaches
a logger by design; the filter is the second lock on the door. An unexpected
error's message (`tui.errorlog`) goes through the same `redact`, in its strict
mode: no digits at all, and no token or CMS field either.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

from tui.core.settings import Settings
from tui.core.setup.config import state_dir

LOG_NAME = "eonay.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
MASK = "***"
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"

# key = value, key: value, "key": "value", key='value' where key names a secret
_SENSITIVE_NAME = (
    r"(?:[A-Za-z0-9]+[_-])*"
    r"(?:pin|puk|passw(?:or)?d|passphrase|secret|session|cookie|api[_-]?key"
    r"|(?:access|refresh|auth|session|bearer|id)[_-]?token)"
    r"(?:[_-][A-Za-z0-9]+)*"
)
_SECRET_FIELD = rf"""(?ix)
    (?<![A-Za-z0-9])
    (?P<key>["']?{_SENSITIVE_NAME}["']?)
    (?P<sep>\s*(?:=|:)\s*)
    (?P<value>b?"[^"]*"|b?'[^']*'|(?:bytearray|bytes)\([^)]*\)|[^\s"',;&)}}\]]+)
    """
# "PIN code 123456", "PIN 1234": a PIN word followed by digits
_PIN_WORDS = r"(?i)(?<![A-Za-z0-9])(?P<key>pin|puk)(?P<sep>(?:\s+code)?\s+)\d{4,}"
_AUTH_HEADER = r"""(?i)(?P<key>["']?(?:proxy-)?authorization["']?\s*[:=]\s*["']?)[^"'\r\n,}]+"""
_COOKIE_HEADER = r"""(?i)(?P<key>["']?(?:set-)?cookie["']?\s*[:=]\s*["']?)[^"'\r\n}]+"""
_BEARER = r"(?i)\b(?P<key>bearer|basic)\s+[A-Za-z0-9._~+/=-]+"
_BYTEARRAY = r"bytearray\((?:b(?:'[^']*'|\"[^\"]*\"))?\)"
_KIMLIK = r"(?<!\d)([1-9]\d)\d{7}(\d{2})(?!\d)"
# A verification code (14 digits): until it is used or expires it opens the holder's
# login to whoever reads the log; the last 4 digits still tell one attempt from another.
_CODE = r"(?<!\d)\d{10}(\d{4})(?!\d)"
CODE_MASK = "*" * 10
# Strict mode only (an unexpected error's message, whose wording nobody chose): a field
# named token or cms, then every run of 4 or more digits (a PIN, a code, a number), also
# one broken by single spaces or dashes ("1234 5678 9012 34", "123-456-789-01").
_STRICT_FIELD = r"""(?i)(?P<key>["']?(?:token|cms)["']?\s*[:=]\s*)["']?[^\s"',}]+["']?"""
_DIGITS = r"\d(?:[ -]?\d){3,}"
DIGITS_MASK = "<digits>"


def _mask_field(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value.lstrip("b")[:1]
    masked = f"{quote}{MASK}{quote}" if quote in ("'", '"') else MASK
    return match.group("key") + match.group("sep") + masked


Replacement = str | Callable[[re.Match[str]], str]


@cache
def _rules() -> tuple[tuple[re.Pattern[str], Replacement], ...]:
    """The patterns, in order; compiled on the first record, not when the app starts."""
    rules: tuple[tuple[str, Replacement], ...] = (
        (_BYTEARRAY, f"bytearray({MASK})"),
        (_AUTH_HEADER, lambda m: m.group("key") + MASK),
        (_COOKIE_HEADER, lambda m: m.group("key") + MASK),
        (_BEARER, lambda m: f"{m.group('key')} {MASK}"),
        (_SECRET_FIELD, _mask_field),
        (_PIN_WORDS, lambda m: m.group("key") + m.group("sep") + MASK),
        (_CODE, CODE_MASK + r"\1"),
        (_KIMLIK, r"\1*******\2"),
    )
    return tuple((re.compile(pattern), replacement) for pattern, replacement in rules)


@cache
def _strict_rules() -> tuple[tuple[re.Pattern[str], Replacement], ...]:
    rules: tuple[tuple[str, Replacement], ...] = (
        (_STRICT_FIELD, lambda m: m.group("key") + MASK),
        (_DIGITS, DIGITS_MASK),
    )
    return _rules() + tuple((re.compile(pattern), repl) for pattern, repl in rules)


def redact(text: str, *, strict: bool = False) -> str:
    """`text` with secrets replaced by ***, T.C. kimlik numbers and verification codes masked.

    `strict` (an unexpected error's message) also blanks any token or cms field and
    keeps no run of 4 or more digits at all.
    """
    for pattern, replacement in _strict_rules() if strict else _rules():
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, traceback and stack in place, redacted."""

    def __init__(self) -> None:
        super().__init__()
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def log_path(settings: Settings, environ: Mapping[str, str] | None = None) -> Path:
    """The configured log file, else `eonay.log` in the XDG state directory."""
    return settings.log_file if settings.log_file is not None else state_dir(environ) / LOG_NAME


def prepare_log_file(settings: Settings, environ: Mapping[str, str] | None = None) -> Path:
    """The log file, created private now, for what must know it before the handler exists."""
    path = log_path(settings, environ)
    _private_file(path)
    return path


def _private_file(path: Path) -> None:
    """Create the directory (0700) and the file (0600) before the handler opens it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)


def setup_logging(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    logger: logging.Logger | None = None,
) -> Path:
    """Send `logger` (the root logger by default) to the rotated, redacted log file.

    Replaces a handler an earlier call installed, so it can run more than once.
    Returns the file's path.
    """
    target = logging.getLogger() if logger is None else logger
    path = log_path(settings, environ)
    _private_file(path)
    for handler in list(target.handlers):
        if getattr(handler, "eonay", False):
            target.removeHandler(handler)
            handler.close()
    # Here: logging.handlers brings socket and pickle, which start-up does not need.
    from logging.handlers import RotatingFileHandler

    handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.eonay = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter(_FORMAT))
    target.addHandler(handler)
    target.setLevel(settings.log_level)
    return path


def log_to_stderr(level: str, logger: logging.Logger | None = None) -> None:
    """For the command-line tools (certs, sign, doctor) when a log level is asked for:
    redacted lines on stderr, where their other messages go."""
    target = logging.getLogger() if logger is None else logger
    for handler in list(target.handlers):
        if getattr(handler, "eonay", False):
            target.removeHandler(handler)
            handler.close()
    handler = logging.StreamHandler()
    handler.eonay = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("eonay: %(levelname)s %(name)s: %(message)s"))
    target.addHandler(handler)
    target.setLevel(level)
