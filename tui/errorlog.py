"""A redacted log entry for an unexpected error, with a short reference to quote.

The entry holds the error's type, its message with anything secret-looking
removed, and where it happened (file, line, function) — never local
variables or source lines, so no PIN, session token or text can leak.
"""

from __future__ import annotations

import logging
import re
import traceback

log = logging.getLogger("eonay")

_SECRETS = [
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1<redacted>"),
    (re.compile(r'(?i)("?(?:session|token|pin|cms)"?\s*[:=]\s*)"?[^\s",}]+"?'), r"\1<redacted>"),
    (re.compile(r"\d{4,}"), "<digits>"),
]


def redact(text: str) -> str:
    """Remove what could be a PIN, a code, a session token or a signature.

    The log's own redactor (`tui.core.setup.logs.redact`) first, then these stricter rules:
    an unexpected error's message keeps no digits at all.
    """
    from tui.core.setup.logs import redact as redact_secrets

    text = redact_secrets(text)
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def new_reference() -> str:
    import secrets  # here: it loads OpenSSL's libcrypto, which start-up does not need

    return "E-" + secrets.token_hex(3).upper()


def log_unexpected(error: BaseException, where: str = "") -> str:
    """Log `error` redacted and return the reference shown to the person."""
    reference = new_reference()
    frames = traceback.extract_tb(error.__traceback__)
    trail = " <- ".join(
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
        for frame in reversed(frames)
    )
    log.error(
        "unexpected %s in %s [%s]: %s | %s",
        type(error).__name__,
        where or "app",
        reference,
        redact(str(error))[:500],
        trail,
    )
    return reference
