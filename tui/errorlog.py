"""A redacted log entry for an unexpected error, with a short reference to quote.

The entry holds the error's type, its message through the log's one redactor
in strict mode (`tui.core.setup.logs.redact`), and where it happened (file,
line, function) — never local variables or source lines, so no PIN, session
token or text can leak.
"""

from __future__ import annotations

import logging
import traceback

log = logging.getLogger("eonay")


def new_reference() -> str:
    import secrets  # here: it loads OpenSSL's libcrypto, which start-up does not need

    return "E-" + secrets.token_hex(3).upper()


def log_unexpected(error: BaseException, where: str = "") -> str:
    """Log `error` redacted (the log's redactor, strict) and return the reference shown."""
    from tui.core.setup.logs import redact

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
        redact(str(error), strict=True)[:500],
        trail,
    )
    return reference
