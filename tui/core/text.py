"""Untrusted text: what may be shown, and what may be signed.

What you see is what you sign: a text is signed only when every character of
it is visible as itself, at the width the app measures it, on any terminal.
`check_signable` is that rule; it refuses rather than repairs, since any
repair would change what is signed. Each class it refuses, and why, is in
docs/reliability.md ("What you see is what you sign"). The classes are decided
by Unicode properties (the `regex` package's tables, `unicodedata`, the cell
widths of Rich/Textual and of `wcwidth`), never by lists of characters.

Strings that are only shown (certificate labels, portal messages) are cleaned
by `display_safe` instead of refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from tui.core.errors import TextNotAllowedError, UnsafeTextError

if TYPE_CHECKING:
    from regex import Pattern

MAX_TEXT_CHARS = 2000

DEFAULT_SCRIPTS = ("Latin",)
"""The scripts whose letters a text may hold with no configuration (Turkish is Latin)."""

# Rich and Textual read "[" as the start of a tag in many more ways than
# [bold] or [/]: [ b], [_x], [-=], [$accent], [1@=, an escaped \[ ... (some make
# the parser fail). Only a plain reference such as [1] or [12] is the same in
# both, so any other "[" is refused. A property test checks this against both
# parsers (tests/safety/test_what_you_sign.py).
_MARKUP_TAG = re.compile(r"\\\[|\[(?![0-9]{1,6}\])")

# UTS #39 (section 5.1): in a resolved script set, Han, Hiragana, Katakana,
# Hangul and Bopomofo also stand for the writing systems that combine them.
_AUGMENTED: dict[str, frozenset[str]] = {
    "han": frozenset({"Hanb", "Jpan", "Kore"}),
    "hani": frozenset({"Hanb", "Jpan", "Kore"}),
    "hiragana": frozenset({"Jpan"}),
    "hira": frozenset({"Jpan"}),
    "katakana": frozenset({"Jpan"}),
    "kana": frozenset({"Jpan"}),
    "hangul": frozenset({"Kore"}),
    "hang": frozenset({"Kore"}),
    "bopomofo": frozenset({"Hanb"}),
    "bopo": frozenset({"Hanb"}),
}
# Script values that are not a script a word can be written in.
_NOT_A_SCRIPT = frozenset(
    {
        "common",
        "zyyy",
        "inherited",
        "zinh",
        "qaai",
        "unknown",
        "zzzz",
        "katakana_or_hiragana",
        "hrkt",
    }
)
_SCRIPT_NAME = re.compile(r"[A-Za-z][A-Za-z_ ]{1,40}\Z")

# Kinds of character problem that `display_safe` also replaces: those that
# hide, move or restyle what is around them, or take other room than measured.
_HIDING = frozenset(
    {"escape", "control", "bidi", "surrogate", "private", "unassigned", "invisible", "format"}
)
_REPLACED_WHEN_SHOWN = _HIDING | {"disputed-width", "zero-width"}


class SignableText(str):
    """A text `check_signable` accepted: it may be shown and then signed, byte for byte.

    Made once, where a challenge's text enters (`tui.core.portal.wire.parse_challenge`);
    everything after it (the PIN screen, `Operations.sign`, the card service, the card
    process) takes this type instead of checking again. A `str`, so it is shown,
    encoded and compared like one.
    """

    __slots__ = ()


# --- the property tables (imported on first use: `regex` compiles them lazily) ---


@lru_cache(maxsize=256)
def _property(pattern: str) -> Pattern[str]:
    """A compiled `regex` pattern (Unicode properties that `re` does not know)."""
    import regex  # on first use: start-up never needs it

    return regex.compile(pattern)


def _has(prop: str, ch: str) -> bool:
    return _property(rf"\p{{{prop}}}").match(ch) is not None


def script_known(name: str) -> bool:
    """Is `name` a Unicode script (long or short name, any case) a word can be written in?"""
    if not _SCRIPT_NAME.match(name) or name.strip().lower() in _NOT_A_SCRIPT:
        return False
    import regex

    try:
        _property(rf"\p{{Script={name.strip()}}}")
    except regex.error:
        return False
    return True


# --- naming a character -----------------------------------------------------


def char_name(ch: str) -> str:
    """`U+3164 HANGUL FILLER`; a character without a name gets its Unicode code point label."""
    cp = ord(ch)
    name = unicodedata.name(ch, "")
    if not name:
        category = unicodedata.category(ch)
        label = {"Cc": "control", "Co": "private-use", "Cs": "surrogate"}.get(category)
        if label is None:
            noncharacter = (cp & 0xFFFE) == 0xFFFE or 0xFDD0 <= cp <= 0xFDEF
            label = "noncharacter" if noncharacter else "reserved"
        name = f"<{label}-{cp:04X}>"
    return f"U+{cp:04X} {name}"


# --- one character on its own -------------------------------------------------


def _assigned(ch: str) -> bool:
    """Assigned in both Unicode databases the rule reads (Python's may be older)."""
    return unicodedata.category(ch) != "Cn" and not _has("gc=Cn", ch)


def _widths(ch: str) -> tuple[int, int]:
    """The cells Textual gives `ch` (Rich's table) and those the C library's wcwidth gives."""
    import wcwidth
    from rich.cells import cell_len  # what Textual measures with (textual._cells)

    return cell_len(ch), wcwidth.wcwidth(ch)


def _common(ch: str) -> bool:
    """Common or Inherited in Script_Extensions: used with any script (digits, punctuation)."""
    return _has("scx=Zyyy", ch) or _has("scx=Zinh", ch)


def _narrow_everywhere_but_cjk(ch: str, category: str) -> bool:
    """An ambiguous-width character that a text in a Latin script cannot do without.

    Letters (ı and ü are ambiguous), punctuation (quotes, dashes, §, …),
    currency signs (€) and the Latin-1 Supplement (°, ±, ½) are drawn one cell
    wide by every terminal not set up for East Asian text; the rule keeps
    them, and refuses the other ambiguous characters (①, ★, ■, →, ─ …).
    """
    return category.startswith(("L", "P")) or category == "Sc" or _has("Block=Latin_1_Sup", ch)


@lru_cache(maxsize=4096)
def _char_problem(ch: str) -> tuple[str, str] | None:
    """(kind, reason) if `ch` cannot be shown as itself whatever the scripts allowed."""
    if ch == "\n" or " " <= ch <= "~":  # printable ASCII: one cell everywhere, any script
        return None
    named = char_name(ch)
    category = unicodedata.category(ch)
    if _has("White_Space", ch):
        if ch == "\t":
            return "whitespace", f"tab {named}"
        if _has("Line_Break=BK", ch) or _has("Line_Break=CR", ch) or _has("Line_Break=NL", ch):
            return "whitespace", f"line break other than LF {named}"
        return "whitespace", f"space other than U+0020 {named}"
    if ch == "\x1b":
        return "escape", "escape sequence"
    if category == "Cc":
        return "control", f"control character {named}"
    if _has("Bidi_Control", ch):
        return "bidi", f"bidi control {named}"
    if category == "Cs":
        return "surrogate", f"surrogate {named}"
    if category == "Co":
        return "private", f"private-use character {named}"
    if not _assigned(ch):
        return "unassigned", f"unassigned code point {named}"
    if _has("Default_Ignorable_Code_Point", ch):
        return "invisible", f"invisible character {named}"
    if category == "Cf":
        return "format", f"format character {named}"
    textual, libc = _widths(ch)
    if textual != libc:
        return "disputed-width", f"disputed width {named} (Textual {textual}, wcwidth {libc})"
    if category in ("Mn", "Me") or (
        category == "Mc" and (_has("sc=Zinh", ch) or _has("sc=Zyyy", ch))
    ):
        return "mark", f"combining mark {named}"
    if textual == 0:
        return "zero-width", f"zero-width character {named}"
    if _has("Bidi_Class=R", ch) or _has("Bidi_Class=AL", ch) or _has("Bidi_Class=AN", ch):
        return "right-to-left", f"right-to-left character {named}"
    if unicodedata.east_asian_width(ch) == "A" and not _narrow_everywhere_but_cjk(ch, category):
        return "ambiguous-width", f"ambiguous width {named}"
    if _has("sc=Zyyy", ch) and category.startswith("L"):
        return "repertoire", f"outside the usual symbols {named}"
    if (
        _has("Emoji_Presentation", ch)
        or _has("Emoji_Modifier", ch)
        or _has("Regional_Indicator", ch)
    ):
        return "repertoire", f"outside the usual symbols {named}"
    return None


@lru_cache(maxsize=4096)
def _scripts_of(ch: str, allowed: frozenset[str]) -> frozenset[str] | None:
    """The allowed scripts `ch` is written in (UTS #39 augmented), None for Common/Inherited."""
    if _common(ch):
        return None
    found: set[str] = set()
    for name in allowed:
        if _has(f"scx={name}", ch):
            found.add(name.lower())
            found |= _AUGMENTED.get(name.lower(), frozenset())
    return frozenset(found)


# --- the configuration ----------------------------------------------------------


def _allowed(names: Iterable[str]) -> frozenset[str]:
    names = tuple(names)
    for name in names:
        if not script_known(name):
            raise ValueError(f"unknown script {name!r}")
    return frozenset((*DEFAULT_SCRIPTS, *(n.strip() for n in names)))


# --- the rule -------------------------------------------------------------------


def check_signable(text: str, scripts: Iterable[str] = ()) -> SignableText:
    """`text` unchanged (as a `SignableText`) if it can be shown exactly as signed; else raise.

    `scripts` are the scripts allowed besides Latin (the settings' `[text] scripts`).
    """
    if not text.strip():
        raise UnsafeTextError("empty text")
    if len(text) > MAX_TEXT_CHARS:
        raise UnsafeTextError(f"longer than {MAX_TEXT_CHARS} characters", MAX_TEXT_CHARS)
    allowed = _allowed(scripts)
    for finding in (
        _not_nfc(text),
        _bad_character(text),
        _mixed_script(text, allowed),
        _script_not_allowed(text, allowed),
        _bad_layout(text),
        _markup(text),
    ):
        if finding is not None:
            reason, position = finding
            raise _refusal(text, reason, position)
    return text if isinstance(text, SignableText) else SignableText(text)


def _refusal(text: str, reason: str, position: int) -> UnsafeTextError:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return UnsafeTextError(reason, position, line=line, column=column)


Finding = tuple[str, int] | None


def _not_nfc(text: str) -> Finding:
    """Not in NFC: refused, not normalized, since normalizing changes the bytes signed."""
    if unicodedata.is_normalized("NFC", text):
        return None
    for end in range(1, len(text) + 1):  # the first character where NFC breaks
        if not unicodedata.is_normalized("NFC", text[:end]):
            return f"not in NFC {char_name(text[end - 1])}", end - 1
    return f"not in NFC {char_name(text[-1])}", len(text) - 1  # not reached


def _bad_character(text: str) -> Finding:
    for i, ch in enumerate(text):
        problem = _char_problem(ch)
        if problem is not None:
            return problem[1], i
    return None


def _words(text: str) -> Iterable[tuple[int, str]]:
    for match in _property(r"\w+").finditer(text):
        yield match.start(), match.group()


def _mixed_script(text: str, allowed: frozenset[str]) -> Finding:
    """UTS #39 mixed-script: a word whose resolved script set is empty."""
    for start, word in _words(text):
        resolved: frozenset[str] | None = None  # None: every script so far
        scripts = [(i, _scripts_of(ch, allowed)) for i, ch in enumerate(word)]
        has_allowed = any(s for _, s in scripts)
        for i, found in scripts:
            if found is None:
                continue
            if not found and not has_allowed:
                break  # a word of one script that is not allowed: _script_not_allowed names it
            resolved = found if resolved is None else resolved & found
            if not resolved:
                return f"mixed scripts in word «{word}» {char_name(word[i])}", start + i
    return None


def _script_not_allowed(text: str, allowed: frozenset[str]) -> Finding:
    """A character of a script not allowed; a wide symbol when no East Asian script is."""
    east_asian = any(name.lower() in _AUGMENTED for name in allowed)
    for i, ch in enumerate(text):
        scripts = _scripts_of(ch, allowed)
        if scripts == frozenset():
            return f"script not allowed {char_name(ch)}", i
        if not east_asian and unicodedata.east_asian_width(ch) in ("W", "F"):
            return f"outside the usual symbols {char_name(ch)}", i
    return None


_LAYOUT = (
    (re.compile(r"  "), 0, "more than one space in a row"),
    (re.compile(r"^ ", re.MULTILINE), 0, "space at the start of a line"),
    (re.compile(r" $", re.MULTILINE), 0, "space at the end of a line"),
    (re.compile(r"\n\n\n"), 2, "more than one blank line in a row"),
    (re.compile(r"\A\n|\n\Z"), 0, "blank lines at the start or end"),
)


def _bad_layout(text: str) -> Finding:
    """Spaces and line breaks the screen would show otherwise than written: the first one."""
    found = []
    for pattern, offset, reason in _LAYOUT:
        match = pattern.search(text)
        if match:
            found.append((match.start() + offset, reason))
    if not found:
        return None
    position, reason = min(found)
    return reason, position


def _markup(text: str) -> Finding:
    match = _MARKUP_TAG.search(text)
    if match:
        return f"markup {_tag_at(text, match.start())!r}", match.start()
    emoji = _emoji_code(text)
    if emoji:
        return f"markup {emoji[0]!r}", emoji[1]
    return None


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
    """Clean a string that is only shown, with the rule's character classes.

    Characters that hide, move or restyle others, or take other room than
    measured, become U+FFFD; whitespace (line breaks included) becomes a space.
    Scripts, marks and ambiguous widths are left alone: nothing shown this way
    is signed, and names on cards are written in many scripts.
    """
    out = []
    for ch in value[:limit]:
        problem = _char_problem(ch)
        if ch == "\n" or (problem is not None and problem[0] == "whitespace"):
            out.append(" ")
        elif problem is not None and problem[0] in _REPLACED_WHEN_SHOWN:
            out.append("\ufffd")
        else:
            out.append(ch)
    cleaned = "".join(out)
    return cleaned + ("…" if len(value) > limit else "")


LOGIN_TEXT = "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
