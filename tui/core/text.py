"""Untrusted text: what may be shown, and what may be signed.

What you see is what you sign: a text is signed only when every character of
it is visible as itself on a terminal. Anything that could hide, reorder or
restyle characters (controls, ANSI escapes, bidi and zero-width characters,
markup) is refused before a PIN is asked. Strings that are only shown
(certificate labels, portal messages) are cleaned instead of refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from tui.core.errors import TextNotAllowedError, UnsafeTextError

MAX_TEXT_CHARS = 2000

# Rich's markup tags look like [bold], [/], [@click], [#ff0000], [link=...].
_MARKUP_TAG = re.compile(r"\[[A-Za-z#/@][^\[\]]*\]")
_BIDI = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A)) | {0x061C}
_ZERO_WIDTH = frozenset(range(0x200B, 0x2010)) | {0x2060, 0xFEFF}
# Categories that never show as themselves: controls, format, private use,
# surrogates, unassigned, line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def _problem(ch: str) -> str | None:
    cp = ord(ch)
    if ch == "\n":
        return None
    if ch == "\x1b":
        return "escape sequence"
    if cp in _BIDI:
        return f"bidi control U+{cp:04X}"
    if cp in _ZERO_WIDTH:
        return f"zero-width character U+{cp:04X}"
    category = unicodedata.category(ch)
    if category in ("Cc",):
        return f"control character U+{cp:04X}"
    if category in _HIDDEN_CATEGORIES:
        return f"invisible character U+{cp:04X}"
    return None


def check_signable(text: str) -> str:
    """Return `text` unchanged if it can be shown exactly as signed; else raise."""
    if not text.strip():
        raise UnsafeTextError("empty text")
    if len(text) > MAX_TEXT_CHARS:
        raise UnsafeTextError(f"longer than {MAX_TEXT_CHARS} characters", MAX_TEXT_CHARS)
    for i, ch in enumerate(text):
        problem = _problem(ch)
        if problem:
            raise UnsafeTextError(problem, i)
    match = _MARKUP_TAG.search(text)
    if match:
        raise UnsafeTextError(f"markup {match.group(0)!r}", match.start())
    for number, line in enumerate(text.split("\n"), start=1):
        if line != line.rstrip():
            raise UnsafeTextError(f"invisible trailing spaces on line {number}")
    if text != text.strip():
        raise UnsafeTextError("leading or trailing blank lines")
    return text


def check_allowed(text: str, purpose: str, allowlist: Mapping[str, Iterable[str]]) -> str:
    """Strict mode: `text` must be one of the texts configured for `purpose`."""
    if text not in set(allowlist.get(purpose, ())):
        raise TextNotAllowedError(f"text not on the {purpose} allowlist")
    return text


def display_safe(value: str, limit: int = 200) -> str:
    """Clean a string that is only shown: hidden characters become U+FFFD, newlines spaces."""
    out = []
    for ch in value[:limit]:
        if ch == "\n":
            out.append(" ")
        elif _problem(ch):
            out.append("\ufffd")
        else:
            out.append(ch)
    cleaned = "".join(out)
    return cleaned + ("…" if len(value) > limit else "")


LOGIN_TEXT = "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
