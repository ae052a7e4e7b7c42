"""Steps 3 and 5 with the real SoftHSM card and the real simulator; time from a fake clock."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pytest

from tests.screens import values
from tests.screens.harness import ScreenHost, region_text, screen_text, settle, wait_for
from tests.screens.services import operations
from tui.core.card_info import PinState, PinTries
from tui.core.errors import CodeExpiredError
from tui.core.pin import Pin
from tui.core.portal.client import PortalClient
from tui.display import date_time
from tui.flow import Back, CardGone, Expired, LoginDone
from tui.screens.final_try import FinalTryDialog
from tui.screens.pin_entry import Phase, PinEntryScreen
from tui.sim.softhsm import CARD_1
from tui.widgets.countdown import Countdown
from tui.widgets.keypad import Keypad
from tui.widgets.pin_field import PinField

HOLDER = "AYŞE GÜLŞEN ÇİFTÇİ"


@dataclass
class Setup:
    app: ScreenHost
    clock: object
    ops: object
    challenge: object
    cert: object
    record: object


@pytest.fixture
def fake_clock():
    return values.fake_clock()


@pytest.fixture
def portal(sim, sleeps, fake_clock):
    with PortalClient(sim.url, clock=fake_clock, sleep=sleeps) as client:
        yield client


@pytest.fixture
def make(sim, portal, fake_clock, faulty_card):
    """Build the PIN screen for a fresh login code, as the app does."""

    def build(language="en", text=None, poll=5.0) -> Setup:
        record = sim.new_login() if text is None else sim.state.new_challenge("login", text=text)
        ops = operations(portal, fake_clock, faulty_card)
        challenge = ops.fetch_challenge(record.code)
        cert = next(c for c in faulty_card.certificates() if c.holder == HOLDER and c.usable)
        app = ScreenHost(
            lambda: PinEntryScreen(
                challenge,
                cert,
                sign=partial(ops.sign, challenge, cert),
                submit=partial(ops.submit_login, challenge),
                pin_state=partial(ops.prepare_signature, cert),
                card_present=partial(ops.certificate_present, cert),
                poll_interval=poll,
            ),
            language,
        )
        return Setup(app, fake_clock, ops, challenge, cert, record)

    return build


def pin_field(app) -> PinField:
    return app.screen.query_one(PinField)


async def test_shows_what_is_signed_and_signs_with_the_keyboard(make, sim, softhsm_card):
    s = make("tr")
    sim.faults.latency = 2.0  # time to see the signing time before the portal answers
    async with s.app.run_test() as pilot:
        await settle(pilot)
        text = screen_text(s.app)
        assert "İmzalanacak Metin" in text
        assert region_text(s.app, "#text-box") == s.record.text
        assert f"Oluşturma Tarihi: {date_time(s.record.created_at)}" in text
        assert "Sertifika: AYŞE GÜLŞEN ÇİFTÇİ - 13…" in text
        assert "Kalan süre: 5:00" in text
        assert "İmzalama Tarihi: —" in text
        assert "PIN Kodu" in text and "İMZALA" in text and "Temizle" in text
        await pilot.press(*softhsm_card.pin)
        assert "******" in screen_text(s.app)
        await pilot.press("enter")
        screen = s.app.screen

        # Poll for the (transient) sending phase: it lasts as long as the portal's latency.
        def sending() -> bool:
            signed = screen_text(s.app)
            return (
                screen.phase is Phase.SUBMITTING
                and "İmzalama Tarihi: —" not in signed
                and "portala gönderiliyor" in signed
            )

        await wait_for(pilot, sending)
        await settle(pilot)
    [outcome] = s.app.results
    assert isinstance(outcome, LoginDone)
    assert outcome.login.holder.name == HOLDER
    assert sim.state.challenge_record(s.record.code).answer["status"] == "accepted"


async def test_the_keypad_works_with_the_mouse(make, softhsm_card):
    s = make()
    async with s.app.run_test() as pilot:
        await settle(pilot)
        pad = {b.name: b for b in s.app.screen.query_one(Keypad).query("KeypadButton")}
        for name in ["9", "9", "clear", *softhsm_card.pin, "7", "backspace"]:
            await pilot.click(pad[name])
        assert pin_field(s.app).length == len(softhsm_card.pin)
        await pilot.click("#sign")
        await settle(pilot)
    assert isinstance(s.app.results[0], LoginDone)


async def test_a_wrong_pin_clears_the_field_and_is_never_retried(make, faulty_card, softhsm_card):
    s = make()
    async with s.app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("9", "9", "9", "9", "enter")
        await settle(pilot)
        assert "Wrong PIN." in screen_text(s.app)
        assert pin_field(s.app).length == 0
        assert faulty_card.sign_calls == 1
        assert s.app.results == []
        await pilot.press(*softhsm_card.pin, "enter")
        await settle(pilot)
    assert faulty_card.sign_calls == 2
    assert isinstance(s.app.results[0], LoginDone)


async def test_the_final_try_needs_an_explicit_confirmation(make, faulty_card, softhsm_card):
    faulty_card.pin_flags = PinState(PinTries.FINAL)
    s = make("tr")
    async with s.app.run_test() as pilot:
        await settle(pilot)
        assert "Son deneme" in screen_text(s.app)
        await pilot.press(*softhsm_card.pin, "enter")
        assert isinstance(s.app.screen, FinalTryDialog)
        assert "Kilit Çözme" in screen_text(s.app)
        await pilot.press("enter")  # Cancel has the focus
        assert not isinstance(s.app.screen, FinalTryDialog)
        assert faulty_card.sign_calls == 0
        assert pin_field(s.app).length == len(softhsm_card.pin)
        await pilot.press("enter")
        await pilot.press("tab", "enter")  # "Evet, imzala"
        await settle(pilot)
    assert faulty_card.sign_calls == 1
    assert isinstance(s.app.results[0], LoginDone)


async def test_a_locked_pin_is_explained_and_no_login_is_tried(make, faulty_card):
    faulty_card.pin_flags = PinState(PinTries.LOCKED)
    s = make("tr")
    async with s.app.run_test() as pilot:
        await settle(pilot)
        text = screen_text(s.app)
        assert "PIN kilitli" in text and "Kilit Çözme" in text and "PUK" in text
        assert pin_field(s.app).disabled
        await pilot.press("1", "2", "3", "4", "enter")
        s.app.screen.query_one("#sign").press()
        await settle(pilot)
        assert pin_field(s.app).length == 0
        await pilot.press("escape")
    assert faulty_card.sign_calls == 0
    assert s.app.results == [Back()]


async def test_the_countdown_turns_urgent_then_expires_and_nothing_is_signed(
    make, faulty_card, fake_clock, softhsm_card
):
    s = make("tr")
    async with s.app.run_test() as pilot:
        await settle(pilot)
        countdown = s.app.screen.query_one(Countdown)
        fake_clock.advance(270)
        countdown.tick()
        await pilot.pause()
        assert "Kalan süre: 0:30" in screen_text(s.app)
        assert countdown.has_class("-urgent")
        await pilot.press(*softhsm_card.pin)
        fake_clock.advance(30)
        countdown.tick()
        await pilot.pause()
        text = screen_text(s.app)
        assert "Kalan süre: 0:00" in text
        assert "Kodun süresi doldu. Hiçbir şey imzalanmadı. Portaldan yeni bir kod" in text
        assert pin_field(s.app).length == 0 and pin_field(s.app).disabled
        assert s.app.screen.focused is s.app.screen.query_one("#next-action")
        await pilot.press("enter")  # "Baştan Başla"
    assert faulty_card.sign_calls == 0
    [outcome] = s.app.results
    assert isinstance(outcome, Expired)


async def test_the_deadline_is_checked_again_right_before_signing(
    make, faulty_card, fake_clock, softhsm_card
):
    s = make()
    async with s.app.run_test() as pilot:
        await settle(pilot)
        await pilot.press(*softhsm_card.pin)
        fake_clock.advance(301)
        s.app.screen.request_sign()  # Enter, before the countdown's next tick can see it
        await settle(pilot)
        assert s.app.screen.phase is Phase.EXPIRED
    assert faulty_card.sign_calls == 0
    # and the operation itself refuses, wiping the PIN it was given
    pin = Pin.from_str(softhsm_card.pin)
    with pytest.raises(CodeExpiredError):
        s.ops.sign(s.challenge, s.cert, pin)
    assert len(pin) == 0 and faulty_card.sign_calls == 0


async def test_pulling_the_card_out_goes_back_to_certificate_select(make, faulty_card):
    s = make(poll=0.05)
    async with s.app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("1", "2")
        faulty_card.pulled.add(CARD_1)
        await wait_for(pilot, lambda: bool(s.app.results))  # the next poll sees it
        await settle(pilot)
    [outcome] = s.app.results
    assert isinstance(outcome, CardGone)
    assert "removed" in outcome.message
    assert faulty_card.sign_calls == 0


async def test_a_pin_shorter_than_the_token_allows_is_not_sent(make, faulty_card):
    s = make()
    async with s.app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("1", "2", "enter")
        await settle(pilot)
        assert "At least 4 digits" in screen_text(s.app)
        await pilot.press("3")  # what it said of the two digits is no longer true (issue 16)
        await pilot.pause()
        assert "At least 4 digits" not in screen_text(s.app)
    assert faulty_card.sign_calls == 0


async def test_each_wrong_pin_reads_as_new(make, faulty_card, softhsm_card):
    """Issue 16, point 6: the tries are counted, so a second wrong PIN does not look like
    the first one still on the screen."""
    s = make("tr")
    async with s.app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("9", "9", "9", "9", "enter")
        await settle(pilot)
        first = s.app.screen.query_one("#status").render().plain
        assert first.startswith("1. deneme: Yanlış PIN")
        await pilot.press("1")  # typing again: the last try's result stays true, and stays
        await pilot.pause()
        assert "1. deneme: Yanlış PIN" in screen_text(s.app)
        await pilot.press("9", "9", "9", "enter")
        await settle(pilot)
        second = s.app.screen.query_one("#status").render().plain
        assert second.startswith("2. deneme: Yanlış PIN") and second != first
        assert "2. deneme: Yanlış PIN" in screen_text(s.app)
    assert faulty_card.sign_calls == 2 and s.app.results == []


async def test_the_text_is_shown_exactly_as_received(make, softhsm_card):
    text = "Madde [1]: *yıldız*, saat 10:30, `kod` ve $değişken aynen görünür."
    s = make(text=text)
    async with s.app.run_test() as pilot:
        await settle(pilot)
        assert region_text(s.app, "#text-box") == text


async def test_the_pin_is_never_copied_nor_shown(make, softhsm_card):
    s = make()
    async with s.app.run_test() as pilot:
        await settle(pilot)
        await pilot.press(*softhsm_card.pin, "ctrl+c", "ctrl+x")
        text = screen_text(s.app)
        assert "The PIN cannot be copied." in text
        assert softhsm_card.pin not in text
        assert s.app.clipboard == ""


async def test_when_the_portal_cannot_be_reached_the_same_signature_is_sent_again(
    make, sim, faulty_card, softhsm_card
):
    s = make()
    async with s.app.run_test() as pilot:
        await settle(pilot)
        sim.faults.fail_next(10, 503)
        await pilot.press(*softhsm_card.pin, "enter")
        await settle(pilot)
        assert "The portal has a problem right now" in screen_text(s.app)
        assert s.app.screen.phase is Phase.RESEND
        sim.faults.reset()
        await pilot.press("enter")  # "Send again" has the focus; no PIN is asked
        await settle(pilot)
    assert faulty_card.sign_calls == 1
    assert isinstance(s.app.results[0], LoginDone)


async def test_the_portals_expiry_is_told_as_the_countdowns(make, sim_clock, softhsm_card):
    s = make()
    async with s.app.run_test() as pilot:
        await settle(pilot)
        sim_clock.advance(400)  # the portal's own clock says the code is over
        await pilot.press(*softhsm_card.pin, "enter")
        await settle(pilot)
        assert "Get a new code from the portal." in screen_text(s.app)
        assert s.app.screen.phase is Phase.EXPIRED
        await pilot.press("enter")
    [outcome] = s.app.results
    assert isinstance(outcome, Expired) and "Get a new code from the portal" in outcome.message


async def test_escape_goes_back_to_the_certificates(make):
    s = make()
    async with s.app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("escape")
    assert s.app.results == [Back()]


async def test_a_long_text_says_there_is_more_and_scrolls_with_page_down(make):
    from tui.sim.state import E_ONAY_TEXT

    s = make(text=E_ONAY_TEXT)
    async with s.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        last_words = "anladım; E-Onay işlemini onaylıyorum."
        assert "more below: PgDn" in screen_text(s.app)
        assert not region_text(s.app, "#text-box").endswith(last_words)
        key_bar = screen_text(s.app).splitlines()[-1]  # Enter shows the rest first: it says so
        assert "Enter Show the rest" in key_bar and "Enter Sign" not in key_bar
        await pilot.press("pagedown", "pagedown", "pagedown")
        await pilot.pause()
        assert region_text(s.app, "#text-box").endswith(last_words)
        assert "more below" not in screen_text(s.app)
        assert "Enter Sign" in screen_text(s.app).splitlines()[-1]
        assert s.app.screen.focused is pin_field(s.app)  # still typing the PIN
