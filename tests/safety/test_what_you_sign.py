"""What you see is what you sign: hostile texts refused before any PIN; the signed bytes are the
text on the screen; strict mode signs only allowlisted texts.

Challenges come from the real simulator over loopback HTTP; signatures from
the real SoftHSM card.
"""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
import wcwidth
from asn1crypto import cms
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Region
from textual.widgets import Static

from tests.safety import drive
from tests.safety.conftest import HOLDER
from tests.screen_text import screen_text
from tui.core.errors import UnsafeTextError
from tui.core.settings import DEFAULT_ALLOWLIST, Settings
from tui.core.text import LOGIN_TEXT, char_name, check_signable
from tui.screens.code_entry import CodeEntryScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.sim.faults import HOSTILE_TEXTS
from tui.sim.state import E_ONAY_TEXT

# What the message must name for each hostile text of the simulator.
NAMED = {
    "bidi": "U+202E",
    "control": "U+0008",
    "ansi": "escape sequence",
    "zero_width": "U+200B",
    "markup": "[b]",
    "c1": "U+009B",
    "bidi_embedding": "U+202B",
    "bidi_isolate": "U+2067",
    "direction_mark": "U+200F",
    "word_joiner": "U+2060",
    "bom": "U+FEFF",
    "emoji": ":thumbs_up:",
    "too_long": "2000 characters",
    "hangul_filler": "U+3164 HANGUL FILLER",
    "grapheme_joiner": "U+034F COMBINING GRAPHEME JOINER",
    "variation_selector": "U+FE0F VARIATION SELECTOR-16",
    "mongolian_selector": "U+180B MONGOLIAN FREE VARIATION SELECTOR ONE",
    "khmer_vowel": "U+17B4 KHMER VOWEL INHERENT AQ",
    "cyrillic_lookalike": "U+043E CYRILLIC SMALL LETTER O",
    "greek_lookalike": "U+03BF GREEK SMALL LETTER OMICRON",
    "nfd": "U+0327 COMBINING CEDILLA",
    "combining_mark": "U+0307 COMBINING DOT ABOVE",
    "private_use": "U+E000",
    "unassigned": "U+0378",
    "disputed_width": "U+1F1F9 REGIONAL INDICATOR SYMBOL LETTER T",
    "ambiguous_width": "U+2605 BLACK STAR",
    "line_separator": "U+2028 LINE SEPARATOR",
    "no_break_space": "U+00A0 NO-BREAK SPACE",
    "space_run": "more than one space in a row",
    "blank_lines": "more than one blank line in a row",
}
# Where each of the rule's refusals says the problem is (character, line, column).
WHERE = {
    "hangul_filler": "Where: character 77, line 2, column 1.",
    "greek_lookalike": "Where: character 71, line 1, column 71.",
    "blank_lines": "Where: character 78, line 3, column 1.",
    "too_long": "",  # refused on arrival, as a whole
}
# Visible, if unusual, characters that must be signed exactly as shown.
TRICKY_BUT_VISIBLE = (
    "İşbu metni okudum: ılık, ĞÜŞİÖÇ, “tırnak”, ‘tek’ — uzun tire… € 1.234,56 TL.\n"
    "\n"
    "Madde [1] ve [2]; saat 10:30:45; e-posta: ad.soyad@ornek.gov.tr; %100 (yüz)."
)


def signed_content(body: bytes) -> bytes:
    """The eContent of the CMS in a signature POST body."""
    der = base64.b64decode(json.loads(body)["cms"])
    signed = cms.ContentInfo.load(der)["content"]
    return bytes(signed["encap_content_info"]["content"].native)


def shown_text(pilot) -> tuple[str, str]:
    """The text to sign as the PIN screen holds it, and as painted (wrapping undone)."""
    screen = pilot.app.screen
    box = screen.query_one("#text-box", VerticalScroll)
    assert box.max_scroll_y == 0, "the whole text must be on the screen for this comparison"
    widget = screen.query_one("#text")
    held = widget.content
    assert isinstance(held, str | Content)
    region = widget.content_region
    lines = screen_text(pilot.app).split("\n")[region.y : region.bottom]
    painted = "\n".join(line[region.x : region.right].rstrip() for line in lines)
    return str(held), painted


def words(text: str) -> list[str]:
    return text.split()


async def test_every_kind_of_hostile_text_is_refused_before_any_pin(rig):
    """Each hostile text the simulator can send: a message naming what is wrong, no PIN screen,
    the card not even touched."""
    r = rig()
    async with r.app.run_test(size=(80, 24)) as pilot:
        for kind, named in NAMED.items():
            r.sim.faults.set_hostile_text(kind)
            record = r.sim.new_login()
            assert record.text == HOSTILE_TEXTS[kind]
            await drive.until(pilot, lambda: drive.on(pilot, CodeEntryScreen))
            field = r.app.screen.query_one("#code")
            field.clear()
            await drive.enter_code(pilot, record.code)
            await drive.until(pilot, lambda field=field: not field.disabled)
            message = drive.status(pilot)
            assert "Nothing was signed" in message, (kind, message)
            assert named in message, (kind, message)
            assert WHERE.get(kind, "Where: character ") in message, (kind, message)
            assert drive.on(pilot, CodeEntryScreen)
    assert r.boundary.calls == []  # no certificate read, no PIN state, no login


@pytest.mark.parametrize("kind", ["bidi_isolate", "hangul_filler", "nfd"])
async def test_a_hostile_e_onay_text_is_refused_before_the_second_pin(rig, softhsm_card, kind):
    r = rig()
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.log_in(pilot, code, HOLDER, softhsm_card.pin)
        r.sim.faults.set_hostile_text(kind)
        await drive.start_e_onay(pilot)
        await drive.until(pilot, lambda: "Nothing was signed" in drive.status(pilot))
        assert NAMED[kind] in drive.status(pilot)
        assert drive.on(pilot, EOnayConfirmScreen)
    assert r.boundary.count("C_Login") == 1  # the login only


async def test_the_bytes_signed_are_the_text_on_the_screen(rig, softhsm_card, openssl_verify):
    """Both signatures of a flow: the CMS content is the UTF-8 of what the PIN screen showed
    (character for character in the widget, word for word as painted), and OpenSSL agrees."""
    r = rig()
    login = r.sim.state.new_challenge("login", text=TRICKY_BUT_VISIBLE)
    shown: list[tuple[str, str]] = []
    async with r.app.run_test(size=(120, 50)) as pilot:
        await drive.enter_code(pilot, login.code)
        await drive.choose(pilot, HOLDER)
        await drive.pin_screen(pilot)
        shown.append(shown_text(pilot))
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.start_e_onay(pilot)
        await drive.pin_screen(pilot)
        shown.append(shown_text(pilot))
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.done(pilot)

    posts = r.http.posts("/signature")
    assert len(posts) == 2
    for (held, painted), body, sent in zip(
        shown, posts, (TRICKY_BUT_VISIBLE, E_ONAY_TEXT), strict=True
    ):
        content = signed_content(body)
        assert content == held.encode("utf-8") == sent.encode("utf-8")
        assert words(painted) == words(content.decode("utf-8"))
        der = base64.b64decode(json.loads(body)["cms"])
        assert openssl_verify(der, softhsm_card.root_pem) == content


async def test_strict_mode_signs_only_allowlisted_texts(rig, softhsm_card):
    """Kiosk mode turns strict mode on: an unlisted text is refused before any PIN, the shipped
    login text goes through, and an E-Onay text needs to be configured."""
    assert Settings(kiosk=True).strict and not Settings().strict
    assert not Settings(kiosk=True, strict_text=False).strict
    assert LOGIN_TEXT in DEFAULT_ALLOWLIST["login"]

    r = rig(Settings(language="en", kiosk=True))
    unlisted = r.sim.state.new_challenge("login", text=LOGIN_TEXT.replace("onaylıyorum", "kabul"))
    listed = r.sim.new_login()
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.enter_code(pilot, unlisted.code)
        await drive.until(pilot, lambda: "Strict mode" in drive.status(pilot))
        assert r.boundary.calls == []
        field = r.app.screen.query_one("#code")
        field.clear()
        await drive.log_in(pilot, listed.code, HOLDER, softhsm_card.pin)
        await drive.start_e_onay(pilot)  # the simulator's E-Onay text is on no list
        await drive.until(pilot, lambda: "Strict mode" in drive.status(pilot))
        assert drive.on(pilot, EOnayConfirmScreen)
    assert r.boundary.count("C_Login") == 1

    allow = {"login": (LOGIN_TEXT,), "e-onay": (E_ONAY_TEXT,)}
    r = rig(Settings(language="en", strict_text=True, allowlist=allow))
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.whole_flow(pilot, code, HOLDER, softhsm_card.pin)
    assert r.boundary.count("C_Login") == 2


@pytest.mark.parametrize(
    "code_points",
    [
        [*range(0x00, 0x20), 0x7F],  # C0 (but \n) and DEL
        list(range(0x80, 0xA0)),  # C1
        list(range(0x202A, 0x202F)),  # bidi embeddings and overrides
        list(range(0x2066, 0x206A)),  # bidi isolates
        [*range(0x200B, 0x2010), 0x2060, 0xFEFF],  # zero-width
    ],
    ids=["C0", "C1", "bidi-embed-override", "bidi-isolate", "zero-width"],
)
def test_every_code_point_the_issue_names_is_refused(code_points):
    for cp in code_points:
        if cp == 0x0A:
            continue
        with pytest.raises(UnsafeTextError) as caught:
            check_signable(f"Onaylıyorum{chr(cp)} metni.")
        assert caught.value.position == len("Onaylıyorum"), hex(cp)


MARKUP_ALPHABET = st.sampled_from(
    [*"[]/\\@#$=_-: ab1.\"'(){}*~+&%!?,;<>|^`\n", "on", "bold", "link", "click", "smile", "i"]
)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MARKUP_ALPHABET, min_size=1, max_size=24).map("".join))
def test_an_accepted_text_reads_the_same_with_markup_on(text):
    """Markup is refused when Rich or Textual would render it otherwise than its bytes: any text
    `check_signable` accepts comes out of both markup parsers unchanged."""
    try:
        check_signable(text)
    except UnsafeTextError:
        return
    assert Text.from_markup(text).plain == text
    assert Content.from_markup(text).plain == text


# --- what is accepted is painted as written, at every width -------------------------------


class TextWidgetApp(App[None]):
    """The PIN screen's text widget alone, as the screen builds it: a Static with markup off
    in a VerticalScroll, here with neither frame nor scroll bar so it spans the terminal."""

    CSS = "VerticalScroll { scrollbar-size-vertical: 0; }"

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.text, markup=False)


async def painted(text: str, widths: tuple[int, ...]) -> dict[int, list[str]]:
    """The lines Textual paints for `text` at each terminal width, trailing spaces trimmed."""
    lines: dict[int, list[str]] = {}
    app = TextWidgetApp(text)
    async with app.run_test(size=(widths[0], 200)) as pilot:
        for width in widths:
            await pilot.resize_terminal(width, 200)
            await pilot.pause()
            widget = app.query_one(Static)
            assert widget.size.width == width
            strips = widget.render_lines(Region(0, 0, width, widget.size.height))
            lines[width] = [strip.text.rstrip() for strip in strips]
    return lines


def wrapped(text: str, width: int) -> list[str]:
    """`text` wrapped at `width` cells, each character as wide as the C library's wcwidth
    says: words move whole to the next line; a word longer than a line is cut."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for word in paragraph.split(" "):
            size = sum(wcwidth.wcwidth(ch) for ch in word)
            if line and used + 1 + size <= width:
                line, used = f"{line} {word}", used + 1 + size
                continue
            if line:
                out.append(line)
            while size > width:
                cut, cells = "", 0
                for ch in word:
                    if cells + wcwidth.wcwidth(ch) > width:
                        break
                    cut, cells = cut + ch, cells + wcwidth.wcwidth(ch)
                out.append(cut)
                word, size = word[len(cut) :], size - cells
            line, used = word, size
        out.append(line)
    return out


def accepted_alone(ch: str, scripts: tuple[str, ...] = ()) -> bool:
    try:
        check_signable(f"{ch}{ch}", scripts)
    except UnsafeTextError:
        return False
    return True


LATIN_WORDS = "abcçdefgğhıijklmnoöprsştuüvyzqwxABCÇDEFGĞHIİJKLMNOÖPRSŞTUÜVYZQWX0123456789"
SIGNS = ".,;:!?'\"()-/“”‘’—…§₺€%$#&*+=<>@_|~°±½©"
# Random code points of the first blocks (Latin, Greek, Cyrillic, symbols ...), kept when
# the rule accepts them on their own; and whole words of other scripts, with those allowed.
OTHERS = "".join(ch for ch in map(chr, range(0x21, 0x3000)) if accepted_alone(ch))
SCRIPT_WORDS = {
    ("Greek",): "".join(
        ch for ch in map(chr, range(0x370, 0x400)) if accepted_alone(ch, ("Greek",))
    ),
    ("Cyrillic",): "".join(
        ch for ch in map(chr, range(0x400, 0x530)) if accepted_alone(ch, ("Cyrillic",))
    ),
    ("Han", "Hiragana", "Katakana"): "".join(
        ch
        for ch in map(chr, [*range(0x3041, 0x3100), *range(0x4E00, 0x4F00)])
        if accepted_alone(ch, ("Han", "Hiragana", "Katakana"))
    ),
}


@st.composite
def texts(draw: st.DrawFn) -> tuple[str, tuple[str, ...]]:
    scripts = draw(st.sampled_from([(), *SCRIPT_WORDS]))
    pools = [
        LATIN_WORDS + SIGNS,
        LATIN_WORDS + OTHERS,
        *([SCRIPT_WORDS[scripts]] if scripts else []),
    ]
    word = st.sampled_from(pools).flatmap(lambda pool: st.text(pool, min_size=1, max_size=14))
    line = st.lists(word, min_size=1, max_size=14).map(" ".join)
    lines = draw(st.lists(line, min_size=1, max_size=6))
    breaks = draw(
        st.lists(st.sampled_from(["\n", "\n\n"]), min_size=len(lines), max_size=len(lines))
    )
    return "".join(b + text for b, text in zip(["", *breaks], lines, strict=False)), scripts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(texts())
def test_an_accepted_text_is_painted_as_written_at_every_width(case):
    """What the rule accepts, Textual paints in the text widget at 40, 80 and 132 columns as the
    text wrapped at those widths, with each character in the cells wcwidth gives it."""
    text, scripts = case
    try:
        check_signable(text, scripts)
    except UnsafeTextError:
        assume(False)
    for ch in set(text) - {"\n"}:
        assert cell_len(ch) == wcwidth.wcwidth(ch) >= 1, char_name(ch)
    for width, lines in asyncio.run(painted(text, (40, 80, 132))).items():
        assert lines == wrapped(text, width), width
