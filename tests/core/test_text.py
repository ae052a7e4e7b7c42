import pytest

from tui.core.errors import TextNotAllowedError, UnsafeTextError
from tui.core.text import (
    LOGIN_TEXT,
    MAX_TEXT_CHARS,
    SignableText,
    check_allowed,
    check_signable,
    display_safe,
)


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
