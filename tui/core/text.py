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

# Rich and Textual read "[" as the start of a tag in many more ways than
# [bold] or [/]: [ b], [_x], [-=], [$accent], [1@=, an escaped \[ ... (some make
# the parser fail). Only a plain reference such as [1] or [12] is the same in
# both, so any other "[" is refused. A property test checks this against both
# parsers (tests/safety/test_what_you_sign.py).
_MARKUP_TAG = re.compile(r"\\\[|\[(?![0-9]{1,6}\])")
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
        raise UnsafeTextError(f"markup {_tag_at(text, match.start())!r}", match.start())
    emoji = _emoji_code(text)
    if emoji:
        raise UnsafeTextError(f"markup {emoji[0]!r}", emoji[1])
    for number, line in enumerate(text.split("\n"), start=1):
        if line != line.rstrip():
            raise UnsafeTextError(f"invisible trailing spaces on line {number}")
    if text != text.strip():
        raise UnsafeTextError("leading or trailing blank lines")
    return text


def _tag_at(text: str, start: int) -> str:
    """The refused tag as the person would find it in the text: up to its "]", or a little."""
    end = text.find("]", start, start + 40)
    return text[start : end + 1] if end != -1 else text[start : start + 12]


def _emoji_code(text: str) -> tuple[str, int] | None:
    """The first `:name:` that Rich would draw as an emoji, and where it starts."""
    if ":" not in text:
        return None
    from rich.emoji import Emoji  # Textual's own dependency; only needed for texts with ':'

    if Emoji.replace(text) == text:
        return None
    colons = [i for i, ch in enumerate(text) if ch == ":"]
    for n, start in enumerate(colons):
        for end in colons[n + 1 :]:
            code = text[start : end + 1]
            if Emoji.replace(code) != code:
                return code, start
    return text, 0  # not reached: Rich changed the text, so one of its codes is in it


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
