import unicodedata

import pytest
import regex
import wcwidth
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from tui.core.errors import TextNotAllowedError, UnsafeTextError, unsafe_reason_text
from tui.core.text import (
    LOGIN_TEXT,
    MAX_TEXT_CHARS,
    SignableText,
    char_name,
    check_allowed,
    check_signable,
    display_safe,
    script_known,
)
from tui.i18n import current_language, set_language


def test_login_text_is_signable_unchanged():
    checked = check_signable(LOGIN_TEXT)
    assert checked == LOGIN_TEXT and isinstance(checked, SignableText)
    assert check_signable(checked) is checked


def test_turkish_letters_and_paragraphs_are_fine():
    text = "İŞĞÜÖÇ ışğüöç.\n\nİkinci paragraf: 1) madde; 2) madde."
    assert check_signable(text) == text


@pytest.mark.parametrize(
    "bad",
    [
        "a\x00b",
        "a\tb",
        "a\rb",
        "renk \x1b[31mkırmızı\x1b[0m",
        "a\x85b",  # C1 NEL
        "a\x9bb",  # C1 CSI
        "abc\u202edcba",
        "a\u202ab",
        "a\u2066b\u2069",
        "a\u200bb",
        "a\u200fb",
        "a\u2060b",
        "\ufeffmetin",
        "a\u2028b",
        "a\ue000b",
        "[bold]onaylıyorum[/bold]",
        "[link=https://evil]tıkla[/link]",
        "[@click=app.quit]x[/]",
        "satır sonu boşluk \nikinci",
        "\nbaşta boş satır",
        "",
        "   ",
        "x" * (MAX_TEXT_CHARS + 1),
    ],
)
def test_hidden_or_restyling_content_is_refused(bad):
    with pytest.raises(UnsafeTextError):
        check_signable(bad)


def test_exactly_max_length_is_allowed():
    assert check_signable("x" * MAX_TEXT_CHARS)


def test_brackets_that_are_not_markup_are_fine():
    assert check_signable("Madde [1] ve [2]: onaylıyorum.")


def test_allowlist():
    allow = {"login": [LOGIN_TEXT]}
    assert check_allowed(LOGIN_TEXT, "login", allow) == LOGIN_TEXT
    with pytest.raises(TextNotAllowedError):
        check_allowed(LOGIN_TEXT + " ", "login", allow)
    with pytest.raises(TextNotAllowedError):
        check_allowed(LOGIN_TEXT, "e-onay", allow)


def test_display_safe_replaces_hidden_characters():
    assert display_safe("TEVFİK\u202e EDİS\x1b[2J") == "TEVFİK\ufffd EDİS\ufffd[2J"
    assert display_safe("a" * 10, limit=4) == "aaaa…"


# --- the rule, class by class: every code point with the property --------------

ALL = range(0x110000)
WORD = "Onaylıyorum"  # the refused character goes right after it


def code_points(pattern: str) -> list[int]:
    """Every code point matching a `regex` Unicode property."""
    compiled = regex.compile(pattern, regex.V1)
    return [cp for cp in ALL if compiled.match(chr(cp))]


def refused(text: str, scripts: tuple[str, ...] = ()) -> UnsafeTextError:
    with pytest.raises(UnsafeTextError) as caught:
        check_signable(text, scripts)
    return caught.value


def assert_named_at(cp: int, reason_start: str | None = None) -> None:
    """`cp` after WORD is refused; the refusal names it as U+XXXX NAME at its position."""
    error = refused(f"{WORD}{chr(cp)} metni.")
    assert error.position == len(WORD), (hex(cp), error.reason)
    assert error.line == 1 and error.column == len(WORD) + 1
    assert char_name(chr(cp)) in error.reason, (hex(cp), error.reason)
    assert char_name(chr(cp)) in error.user_message()
    if reason_start is not None:
        assert error.reason.startswith(reason_start), (hex(cp), error.reason)


@pytest.mark.parametrize(
    ("cp", "name"),
    [
        (0x3164, "U+3164 HANGUL FILLER"),
        (0x034F, "U+034F COMBINING GRAPHEME JOINER"),
        (0xFE0F, "U+FE0F VARIATION SELECTOR-16"),
        (0x180B, "U+180B MONGOLIAN FREE VARIATION SELECTOR ONE"),
        (0x17B4, "U+17B4 KHMER VOWEL INHERENT AQ"),
        (0xFFA0, "U+FFA0 HALFWIDTH HANGUL FILLER"),
        (0x115F, "U+115F HANGUL CHOSEONG FILLER"),
        (0x00AD, "U+00AD SOFT HYPHEN"),
        (0xE0041, "U+E0041 TAG LATIN CAPITAL LETTER A"),
    ],
)
def test_the_characters_the_issue_found_are_refused_by_name(cp: int, name: str) -> None:
    error = refused(f"{LOGIN_TEXT}\n{chr(cp) * 40}\nDEĞİL. Tüm yetkilerimi devrediyorum.")
    assert name in error.reason
    assert (error.position, error.line, error.column) == (len(LOGIN_TEXT) + 1, 2, 1)


def test_every_default_ignorable_code_point_is_refused() -> None:
    found = code_points(r"\p{Default_Ignorable_Code_Point}")
    assert len(found) > 4000  # the property, not a hand-made list
    for cp in found:
        assert_named_at(cp)


def test_every_format_character_is_refused() -> None:
    for cp in code_points(r"\p{gc=Cf}"):
        assert_named_at(cp)


def test_every_surrogate_and_private_use_code_point_is_refused() -> None:
    for cp in [*range(0xD800, 0xE000), *range(0xE000, 0xF900)]:
        assert_named_at(cp)
    for plane in (0xF0000, 0x100000):  # the supplementary private use planes, sampled
        for cp in range(plane, plane + 0xFFFE, 251):
            assert_named_at(cp, "private-use character")


def test_unassigned_code_points_are_refused() -> None:
    unassigned = [cp for cp in range(0, 0x110000, 53) if unicodedata.category(chr(cp)) == "Cn"]
    unassigned += code_points(r"\p{gc=Cn}")[::97]  # also those only the newer database knows
    assert len(unassigned) > 15000
    for cp in unassigned:
        assert_named_at(cp)
    error = refused("a\u0378b")
    assert error.reason == "unassigned code point U+0378 <reserved-0378>"


def test_every_character_textual_and_wcwidth_measure_differently_is_refused() -> None:
    disputed = [
        cp
        for cp in ALL
        if unicodedata.category(chr(cp)) not in ("Cc", "Cs", "Cn")
        and cell_len(chr(cp)) != wcwidth.wcwidth(chr(cp))
    ]
    assert disputed  # regional indicators and skin tones, with the libraries of today
    for cp in disputed:
        assert_named_at(cp)


def test_ambiguous_width_is_refused_but_for_what_latin_text_needs() -> None:
    """East Asian Ambiguous characters: drawn 2 cells wide by terminals set up for CJK.
    Letters (ı, ü), punctuation (“ ” — … §), currency (€) and Latin-1 (°, ±) are kept."""
    latin1 = regex.compile(r"\p{Block=Latin_1_Supplement}")
    ambiguous = [
        cp
        for cp in ALL
        if unicodedata.east_asian_width(chr(cp)) == "A" and unicodedata.category(chr(cp))[0] != "C"
    ]
    kept = []
    for cp in ambiguous:
        ch = chr(cp)
        try:
            check_signable(f"x{ch}x")
        except UnsafeTextError:
            continue
        kept.append(ch)
        category = unicodedata.category(ch)
        assert category[0] in "LP" or category == "Sc" or latin1.match(ch), hex(cp)
    assert {"ı", "ü", "€", "§", "“", "”", "—", "…"} <= set(kept)
    for ch in "①★■→─™∀↑":
        assert_named_at(ord(ch), "ambiguous width")


def test_combining_marks_of_no_script_are_refused() -> None:
    """A mark that survives NFC (no precomposed form, or a second mark) stacks onto its base:
    two acute accents look like one, a dot above ı looks like i."""
    marks = code_points(r"[\p{gc=M}&&[\p{sc=Zinh}\p{sc=Zyyy}]]")
    assert len(marks) > 500
    for cp in marks:
        assert_named_at(cp)
    for text in ("q\u0303", "ı\u0307", "é\u0301", "ş\u0327", "a\u20dd"):
        assert refused(text).position == 1


def test_non_spacing_marks_are_refused_even_in_an_allowed_script() -> None:
    """A character with no cell of its own can hide in its neighbour's glyph: Thai and
    Devanagari vowel signs are refused too, so those scripts cannot be allowed in full."""
    for script in ("Thai", "Devanagari", "Greek", "Cyrillic"):
        marks = code_points(rf"(?V1)[\p{{sc={script}}}&&[\p{{gc=Mn}}\p{{gc=Me}}]]")
        for cp in marks:
            error = refused(f"a{chr(cp)}", (script,))
            assert error.reason.startswith(("combining mark", "not in NFC", "unassigned")), hex(cp)
    assert check_signable("ไทย", ("Thai",)) == "ไทย"  # letters with cells of their own


def test_right_to_left_letters_are_refused_even_when_their_script_is_allowed() -> None:
    """Terminals differ in whether they reorder right-to-left text, so what is shown could
    be another order than what is signed."""
    for script in ("Hebrew", "Arabic"):
        for cp in code_points(rf"(?V1)[\p{{sc={script}}}&&\p{{L}}]")[::7]:
            error = refused(chr(cp), (script,))
            assert error.reason.startswith(("right-to-left", "unassigned", "not in NFC")), hex(cp)
    assert refused("1١").reason == "right-to-left character U+0661 ARABIC-INDIC DIGIT ONE"


def test_nfd_turkish_letters_are_refused_not_normalized() -> None:
    for letter in "çşğöüÇŞĞÖÜİ":
        decomposed = unicodedata.normalize("NFD", letter)
        assert decomposed != letter
        error = refused(f"Onay {decomposed}x")
        assert error.reason == f"not in NFC {char_name(decomposed[1])}"
        assert error.position == 6
    assert refused("\u212b").reason == "not in NFC U+212B ANGSTROM SIGN"  # a singleton


@given(st.text(st.characters(max_codepoint=0x2FFF, exclude_categories=("Cs",)), max_size=20))
@settings(max_examples=300)
def test_no_text_outside_nfc_is_accepted(text: str) -> None:
    try:
        accepted = check_signable(text)
    except UnsafeTextError:
        return
    assert unicodedata.normalize("NFC", accepted) == accepted


# --- scripts (UTS #39) ------------------------------------------------------------------


def test_greek_and_cyrillic_look_alikes_in_turkish_words_are_refused() -> None:
    """Each Greek and Cyrillic letter inside a Turkish word, with the default scripts and with
    both scripts allowed: a word of letters of two scripts is refused either way."""
    letters = code_points(r"[\p{L}&&[\p{scx=Greek}\p{scx=Cyrillic}]&&[^\p{scx=Latin}]]")
    assert len(letters) > 500
    for cp in letters:
        text = f"Kullanıcı onay{chr(cp)}lıyorum."
        for scripts in ((), ("Greek", "Cyrillic")):
            try:
                error = refused(text, scripts)
            except pytest.fail.Exception:
                raise AssertionError(hex(cp)) from None
            if not error.reason.startswith("not in NFC"):
                assert error.position == 14, (hex(cp), error.reason)
                assert char_name(chr(cp)) in error.reason


def test_the_issue_look_alikes_are_named_with_their_word() -> None:
    error = refused("Metni okudum, onaylıyοrum.")  # a Greek omicron
    assert error.reason == "mixed scripts in word «onaylıyοrum» U+03BF GREEK SMALL LETTER OMICRON"
    assert (error.position, error.column) == (21, 22)
    error = refused("Tüm yеtkilerimi devrediyorum.")  # a Cyrillic ie
    assert "U+0435 CYRILLIC SMALL LETTER IE" in error.reason


def test_other_scripts_need_the_configuration() -> None:
    greek = "Καλημέρα κόσμε"
    assert refused(greek).reason.startswith("script not allowed U+039A GREEK CAPITAL LETTER KAPPA")
    assert check_signable(greek, ("Greek",)) == greek
    assert check_signable(f"{LOGIN_TEXT} {greek}.", ["Grek"])  # words of one script each
    assert refused("Καλημέρa", ("Greek",)).reason.startswith("mixed scripts")  # a Latin a
    russian = "Я подтверждаю."
    assert refused(russian, ("Greek",)).reason.startswith("script not allowed")
    assert check_signable(russian, ("Greek", "Cyrillic")) == russian


def test_japanese_words_mix_han_and_kana_as_uts39_allows() -> None:
    """UTS #39 augments Han with Jpan, Kore and Hanb: 食べる (Han + Hiragana) is one script."""
    text = "食べる 日本語"
    assert refused(text).reason.startswith("script not allowed")
    assert check_signable(text, ("Han", "Hiragana")) == text
    assert refused("食べる", ("Han",)).reason.startswith("mixed scripts")  # kana not allowed
    assert refused("食べるabc", ("Han", "Hiragana")).reason.startswith("mixed scripts")


def test_letters_of_no_script_and_emoji_are_not_usual_symbols() -> None:
    for text, name in (
        ("𝐏ara", "U+1D40F MATHEMATICAL BOLD CAPITAL P"),
        ("ℂ", "U+2102 DOUBLE-STRUCK CAPITAL C"),
        ("onay 😀", "U+1F600 GRINNING FACE"),
        ("ＡＢＣ", "U+FF21 FULLWIDTH LATIN CAPITAL LETTER A"),
    ):
        assert name in refused(text).reason, text


def test_the_usual_symbols_and_turkish_are_accepted() -> None:
    text = (
        "İŞĞÜÖÇ ışğüöç: 1.234,56 ₺ / € 12 / %18 KDV; § 3 (a) [1] “alıntı” ‘tek’ — uzun… "
        "25 °C ± 0,5; a+b=c; x<y>z; #1 @ad & 'kesme' \"çift\" *yıldız* ~ ^ _ | ©"
    )
    assert check_signable(text) == text


def test_an_unknown_script_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        check_signable("a", ("Elvish",))
    assert script_known("Greek") and script_known("grek") and not script_known("Common")


def test_no_scripts_given_means_latin_only() -> None:
    """No process-wide setting: the scripts come with each call (from the settings)."""
    assert check_signable("Καλημέρα", ("Greek",)) == "Καλημέρα"
    assert refused("Καλημέρα").reason.startswith("script not allowed")


# --- whitespace -----------------------------------------------------------------------


def test_every_whitespace_character_but_space_and_line_feed_is_refused() -> None:
    found = code_points(r"\p{White_Space}")
    for cp in found:
        if chr(cp) in " \n":
            continue
        assert_named_at(cp)
    assert refused("a\u2028b").reason == "line break other than LF U+2028 LINE SEPARATOR"
    assert refused("a\x85b").reason == "line break other than LF U+0085 <control-0085>"
    assert refused("a\x0bb").reason.startswith("line break other than LF U+000B")
    assert refused("a\x0cb").reason.startswith("line break other than LF U+000C")
    assert refused("a\rb").reason.startswith("line break other than LF U+000D")
    assert refused("a\tb").reason == "tab U+0009 <control-0009>"
    assert refused("a\u00a0b").reason == "space other than U+0020 U+00A0 NO-BREAK SPACE"


@pytest.mark.parametrize(
    ("text", "reason", "where"),
    [
        ("Bir  iki", "more than one space in a row", (3, 1, 4)),
        ("Bir\n iki", "space at the start of a line", (4, 2, 1)),
        (" Bir", "space at the start of a line", (0, 1, 1)),
        ("Bir \niki", "space at the end of a line", (3, 1, 4)),
        ("Bir iki ", "space at the end of a line", (7, 1, 8)),
        ("Bir\n\n\niki", "more than one blank line in a row", (5, 3, 1)),
        ("\nBir", "blank lines at the start or end", (0, 1, 1)),
        ("Bir\n", "blank lines at the start or end", (3, 1, 4)),
    ],
)
def test_spaces_and_lines_the_screen_would_not_show_as_written(text, reason, where) -> None:
    error = refused(text)
    assert error.reason == reason
    assert (error.position, error.line, error.column) == where


def test_one_blank_line_between_paragraphs_is_fine() -> None:
    assert check_signable("Bir.\n\nİki.\nÜç.")


# --- the message -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "(an invisible character U+3164 HANGUL FILLER). Nothing was signed. "
            "Where: character 7, line 2, column 2.",
        ),
        (
            "tr",
            "(görünmeyen bir karakter U+3164 HANGUL FILLER). Hiçbir şey imzalanmadı. "
            "Yeri: 7. karakter, 2. satır, 2. sütun.",
        ),
    ],
)
def test_the_refusal_reaches_the_person_in_their_language(language: str, expected: str) -> None:
    error = refused("Onay\nx\u3164y")
    before = current_language()
    try:
        set_language(language)
        assert error.user_message().endswith(expected)
    finally:
        set_language(before)


def test_every_reason_the_rule_gives_has_words_for_people() -> None:
    """Each class of refusal is translated (unknown reasons would be shown as they are)."""
    texts = [
        "a\u0301",
        "a\tb",
        "a\u2028b",
        "a\u00a0b",
        "a\x1bb",
        "a\x08b",
        "a\u202eb",
        "a\ud800b",
        "a\ue000b",
        "a\u0378b",
        "a\u3164b",
        "a\u0600b",
        "a\U0001f1e6b",
        "a①b",
        "q\u0303",
        "𝐏",
        "onaylıyοrum",
        "α",
        "",
        "x" * 2001,
        "[b]x",
        "a  b",
        " a",
        "a ",
        "a\n\n\nb",
        "\na",
    ]
    before = current_language()
    try:
        set_language("tr")
        for text in texts:
            with pytest.raises(UnsafeTextError) as caught:
                check_signable(text)
            assert unsafe_reason_text(caught.value.reason) != caught.value.reason, text
    finally:
        set_language(before)


def test_display_safe_uses_the_same_classes() -> None:
    assert display_safe("AD\u3164SOYAD\u034f\ufe0f") == "AD\ufffdSOYAD\ufffd\ufffd"
    assert display_safe("a\u00a0b\u2028c\td") == "a b c d"
    assert display_safe("a\U0001f1f9\U0001f1f7") == "a\ufffd\ufffd"  # widths disputed
    assert display_safe("Καλημέρα ı") == "Καλημέρα ı"  # shown, never signed: any script
