"""The whole text on the screen before any signature, and nothing signed below the minimum size.

Issue 11: a text longer than its box showed "more below: PgDn" and PIN + Enter signed it
anyway. Now Enter (and İMZALA) first shows the rest and says why; the card is not touched
(no `C_Login`) until the text's last line was on the screen. The real app on the real parts:
SoftHSM through the watched PKCS#11 boundary, the simulator over loopback HTTP.
"""

from __future__ import annotations

import base64
import json

import pytest
from textual.containers import VerticalScroll

from tests.conftest import openssl_verify
from tests.safety import drive
from tests.safety.conftest import HOLDER
from tests.safety.test_what_you_sign import signed_content
from tests.screen_text import screen_text
from tui.core.text import LOGIN_TEXT, check_signable
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.pin_entry import PinEntryScreen

UNSEEN = "Cannot sign before seeing the whole text: PgDn / End"
SEEN = "That is the end of the text: Enter signs it."
NOTICE = "Make the window larger: at least 60×18"

SENTENCES = (
    "Kamu SM tarafından adıma düzenlenen nitelikli elektronik sertifikayı kullanıyorum.",
    "Bu işlemi kendi isteğimle ve kendi kartımla yapıyorum.",
    "Kartımı ve PIN kodumu kimseyle paylaşmadım, paylaşmayacağım.",
    "İmzaladığım metnin bir kopyasını portaldan alabileceğimi biliyorum.",
    "Onayımı dilediğim zaman Kamu SM'ye başvurarak geri alabilirim.",
    "Kişisel verilerim yalnızca bu işlem için işlenecektir.",
    "Bu onay 5070 sayılı Elektronik İmza Kanunu kapsamındadır.",
    "Elektronik imzam elle atılmış imzamla aynı hukuki sonucu doğurur.",
    "Sertifikamın süresi dolduğunda yenileme başvurusunu bu onayla yapabilirim.",
    "Başvurularım yalnızca geçerli bir nitelikli elektronik imzayla kabul edilir.",
    "Adres ve iletişim bilgilerimin güncel olduğunu beyan ederim.",
    "Bilgilerimde bir değişiklik olursa bunu bildirmeyi kabul ederim.",
    "Portalın bana gönderdiği doğrulama kodunu yalnızca ben kullandım.",
    "Kartımı kaybedersem ya da çaldırırsam hemen Kamu SM'ye bildireceğim.",
    "Sertifikamın iptali için gereken adımları biliyorum.",
    "Bu işlemin kaydının portalda saklanacağını biliyorum.",
    "Başka bir kişi adına işlem yapmadığımı beyan ederim.",
    "Bu metni sonuna kadar okudum ve anladım.",
    "Yukarıdaki koşulların tamamını kabul ediyorum.",
)
# A long text of many lines, and one made long by a blank line between its paragraphs.
MANY_LINES = "\n".join(SENTENCES)
PARAGRAPHS = "\n\n".join(f"Madde {n}. {s}" for n, s in enumerate(SENTENCES, start=1))
LONG_TEXTS = {"many-lines": MANY_LINES, "paragraphs": PARAGRAPHS}


def text_box(pilot) -> VerticalScroll:
    return pilot.app.screen.query_one("#text-box", VerticalScroll)


def the_end_is_in_sight(pilot) -> bool:
    box = text_box(pilot)
    return box.scroll_y >= box.max_scroll_y


async def to_pin(pilot, r, text: str) -> PinEntryScreen:
    record = r.sim.state.new_challenge("login", text=text)
    await drive.enter_code(pilot, record.code)
    await drive.choose(pilot, HOLDER)
    return await drive.pin_screen(pilot)


def the_login_signature(r) -> bytes:
    [body] = r.http.posts("/signature")
    return base64.b64decode(json.loads(body)["cms"])


@pytest.mark.parametrize("name", list(LONG_TEXTS))
async def test_a_long_text_is_signed_only_once_its_end_was_on_the_screen(rig, softhsm_card, name):
    text = LONG_TEXTS[name]
    assert check_signable(text) == text and len(text) <= 2000
    assert "  " not in text and "\n\n\n" not in text  # a legitimate text: no runs, no gaps
    r = rig()
    async with r.app.run_test(size=(80, 24)) as pilot:
        screen = await to_pin(pilot, r, text)
        box = text_box(pilot)
        page = box.scrollable_content_region.height
        assert box.max_scroll_y > page, "the text must be over two boxes long for this test"
        assert not screen.seen_whole_text
        await pilot.press(*softhsm_card.pin)
        said = []
        while not the_end_is_in_sight(pilot):
            before = box.scroll_y
            await pilot.press("enter")
            said.append(drive.status(pilot))
            # Enter showed the next page and said why; the card was not touched.
            assert box.scroll_y > before
            assert r.boundary.count("C_Login") == 0 and r.http.posts("/signature") == []
            assert drive.on(pilot, PinEntryScreen) and screen.query_one("#pin").length > 0
        assert screen.seen_whole_text  # the last line is on the screen now
        # Each page said why it did not sign; the last says that Enter signs now.
        assert said[:-1] == [UNSEEN] * (len(said) - 1) and len(said) >= 2
        assert said[-1] == SEEN
        await pilot.press("enter")  # and now Enter signs
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 1
    cms = the_login_signature(r)
    assert (
        openssl_verify(cms, softhsm_card.root_pem)
        == text.encode()
        == signed_content(r.http.posts("/signature")[0])
    )


async def test_the_sign_button_too_shows_the_rest_first(rig, softhsm_card):
    r = rig()
    async with r.app.run_test(size=(80, 24)) as pilot:
        screen = await to_pin(pilot, r, MANY_LINES)
        await pilot.press(*softhsm_card.pin)
        await pilot.click("#sign")
        assert drive.status(pilot) == UNSEEN
        assert text_box(pilot).scroll_y > 0 and not screen.seen_whole_text
        assert r.boundary.count("C_Login") == 0
        await pilot.press("end")  # End: straight to the last line
        assert screen.seen_whole_text and drive.status(pilot) == SEEN
        await pilot.pause()  # the new status may move the button: click where it is drawn now
        await pilot.click("#sign")
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 1
    assert openssl_verify(the_login_signature(r), softhsm_card.root_pem) == MANY_LINES.encode()


async def test_a_resize_after_the_end_was_seen_does_not_take_it_back(rig, softhsm_card):
    r = rig()
    async with r.app.run_test(size=(80, 24)) as pilot:
        screen = await to_pin(pilot, r, PARAGRAPHS)
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown", "pagedown")
        assert the_end_is_in_sight(pilot) and screen.seen_whole_text
        await pilot.resize_terminal(60, 18)  # a smaller box: the end is out of sight again
        await drive.until(pilot, lambda: text_box(pilot).size.width <= 30)
        await pilot.press("home")
        assert not the_end_is_in_sight(pilot)
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 1
    assert openssl_verify(the_login_signature(r), softhsm_card.root_pem) == PARAGRAPHS.encode()


async def test_a_text_that_fits_keeps_the_short_path(rig, softhsm_card):
    """PIN, then Enter: one Enter, one login."""
    r = rig()
    async with r.app.run_test(size=(80, 24)) as pilot:
        screen = await to_pin(pilot, r, LOGIN_TEXT)
        assert text_box(pilot).max_scroll_y == 0 and screen.seen_whole_text
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 1


async def test_a_long_text_in_a_roomy_terminal_needs_no_scrolling(rig, softhsm_card):
    """The gate follows what is on the screen, not the text's length."""
    r = rig()
    async with r.app.run_test(size=(132, 43)) as pilot:
        screen = await to_pin(pilot, r, MANY_LINES)
        assert text_box(pilot).max_scroll_y == 0 and screen.seen_whole_text
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 1


@pytest.mark.parametrize("small", [(59, 18), (60, 17)], ids=["59x18", "60x17"])
async def test_below_the_minimum_size_the_notice_replaces_the_screen_and_nothing_signs(
    rig, softhsm_card, small
):
    r = rig()
    async with r.app.run_test(size=(80, 24)) as pilot:
        screen = await to_pin(pilot, r, LOGIN_TEXT)
        await pilot.resize_terminal(*small)
        await drive.until(pilot, lambda: NOTICE in screen_text(pilot.app))
        shown = screen_text(pilot.app)
        assert "Text to sign" not in shown and "SIGN" not in shown and "F1" not in shown
        await pilot.press(*softhsm_card.pin, "enter")
        await pilot.click("#sign")  # where İMZALA was: the notice is there
        screen.request_sign()  # even asked directly, the screen does not sign while covered
        await pilot.pause()
        assert r.boundary.count("C_Login") == 0 and r.http.posts("/signature") == []
        assert screen.query_one("#pin").length == 0  # the keys reached nothing

        await pilot.resize_terminal(60, 18)  # the minimum: the PIN screen is back
        await drive.until(pilot, lambda: NOTICE not in screen_text(pilot.app))
        assert "Text to sign" in screen_text(pilot.app)
        await pilot.press(*softhsm_card.pin, "enter")
        await drive.until(pilot, lambda: drive.on(pilot, EOnayConfirmScreen))
    assert r.boundary.count("C_Login") == 1
    assert openssl_verify(the_login_signature(r), softhsm_card.root_pem) == LOGIN_TEXT.encode()


async def test_a_text_whose_end_was_only_under_the_notice_was_not_seen(rig, softhsm_card):
    """A window too narrow but tall lays the whole text out under the size notice: nobody saw
    it there, so at the minimum size again Enter still shows the rest first."""
    r = rig()
    async with r.app.run_test(size=(60, 18)) as pilot:
        screen = await to_pin(pilot, r, MANY_LINES)
        assert not screen.seen_whole_text
        await pilot.resize_terminal(59, 120)
        await drive.until(pilot, lambda: NOTICE in screen_text(pilot.app))
        await drive.until(pilot, lambda: text_box(pilot).max_scroll_y == 0)  # all of it, covered
        assert not screen.seen_whole_text
        await pilot.resize_terminal(60, 18)
        await drive.until(pilot, lambda: text_box(pilot).max_scroll_y > 0)
        assert not screen.seen_whole_text
        await pilot.press(*softhsm_card.pin, "enter")
        assert drive.status(pilot) in (UNSEEN, SEEN)
        assert r.boundary.count("C_Login") == 0 and r.http.posts("/signature") == []
