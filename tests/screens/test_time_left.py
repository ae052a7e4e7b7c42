"""The code's time from step 2 on, warnings before its end, and one message when it is over,
saying what expired and what to do (issue 16, points 2 and 4)."""

from __future__ import annotations

import pytest

from tests.screens import values
from tests.screens.harness import ScreenHost, screen_text, settle
from tests.screens.test_snapshots import never
from tui.core.errors import CodeExpiredError, time_over
from tui.flow import Expired
from tui.i18n import set_language
from tui.operations import CardView
from tui.screens.certificate_select import CertificateSelectScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.pin_entry import PinEntryScreen
from tui.widgets.countdown import Countdown

NEW_CODE = {"tr": "Portaldan yeni bir kod alın.", "en": "Get a new code from the portal."}
E_ONAY_OVER = {
    "tr": "E-Onay metnini imzalama süresi doldu",
    "en": "The time to sign the E-Onay text is over",
}
MODULES = ["/usr/lib/libakisp11.so"]


def select_screen(challenge):
    view = CardView(
        tokens=[values.token()],
        certificates=[values.certificate(), values.certificate(fingerprint="cc" * 32)],
        module_paths=MODULES,
    )
    return lambda: CertificateSelectScreen(
        lambda: view, lambda: MODULES, challenge=challenge, poll_interval=3600
    )


def pin_screen(challenge):
    return lambda: PinEntryScreen(
        challenge,
        values.certificate(),
        sign=never,
        submit=never,
        pin_state=lambda: values.NORMAL_PIN,
        card_present=lambda: True,
        poll_interval=3600,
    )


async def run_down(pilot, clock, countdown: Countdown, to: float, left: float) -> None:
    """Advance the fake clock until `left` seconds remain, the countdown seeing each second."""
    while left > to:
        step = min(1.0, left - to)
        clock.advance(step)
        left -= step
        countdown.tick()
        await pilot.pause()


@pytest.mark.parametrize("language", ["tr", "en"])
@pytest.mark.parametrize("purpose", ["login", "e-onay"])
async def test_the_time_shows_on_certificate_select_warns_and_ends_with_one_message(
    language, purpose
):
    clock = values.fake_clock()
    challenge = values.challenge(clock, purpose=purpose, seconds=75)
    app = ScreenHost(select_screen(challenge), language)
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot)
        label = "Kalan süre: 1:15" if language == "tr" else "Time left: 1:15"
        assert label in screen_text(app)
        countdown = app.screen.query_one(Countdown)
        await run_down(pilot, clock, countdown, 59, 75)
        one_minute = "bir dakika kaldı" if language == "tr" else "One minute left to sign."
        assert one_minute in screen_text(app)  # the warning at 60 s
        await run_down(pilot, clock, countdown, 9, 59)
        ten = "10 saniye kaldı" if language == "tr" else "10 seconds left to sign."
        assert ten in screen_text(app)  # and at 10 s
        assert app.results == []
        await run_down(pilot, clock, countdown, 0, 9)
        await pilot.pause()
    set_language(language)
    assert app.results == [Expired(time_over(purpose))]
    message = app.results[0].message
    if purpose == "login":
        assert message.endswith(NEW_CODE[language])
    else:
        assert message.startswith(E_ONAY_OVER[language])
        assert "kod" not in message.lower() and "code" not in message.lower()


async def test_a_shorter_time_than_a_warning_is_not_warned_of_at_the_start():
    clock = values.fake_clock()
    app = ScreenHost(select_screen(values.challenge(clock, seconds=30)), "en")
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot)
        assert "Time left: 0:30" in screen_text(app)
        assert "One minute left" not in screen_text(app)


async def test_choosing_after_the_time_is_over_chooses_nothing():
    clock = values.fake_clock()
    challenge = values.challenge(clock, seconds=20)
    app = ScreenHost(select_screen(challenge), "en")
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot)
        clock.advance(21)  # before the countdown's next tick
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [Expired(time_over("login"))]


@pytest.mark.parametrize(
    ("purpose", "button"),
    [("login", "Start again"), ("e-onay", "Back to E-Onay")],
)
async def test_on_the_pin_screen_the_message_says_what_expired_and_the_button_where_it_leads(
    purpose, button
):
    clock = values.fake_clock()
    challenge = values.challenge(clock, purpose=purpose, seconds=65)
    app = ScreenHost(pin_screen(challenge), "en")
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot)
        countdown = app.screen.query_one(Countdown)
        await run_down(pilot, clock, countdown, 59, 65)
        assert "One minute left to sign." in screen_text(app)
        await run_down(pilot, clock, countdown, 0, 59)
        await pilot.pause()
        text = screen_text(app)
        assert time_over(purpose).split(".")[0] in text
        assert app.screen.query_one("#next-action").label.plain == button
        await pilot.press("enter")
    assert app.results == [Expired(time_over(purpose))]


def test_the_portals_expiry_is_the_same_message_as_the_countdowns():
    set_language("tr")
    assert CodeExpiredError().user_message() == time_over("login")
    assert time_over("login").endswith("Portaldan yeni bir kod alın.")


async def test_back_on_step_4_after_the_e_onay_text_expired_the_message_lines_up():
    """The message says what expired, Continue (which asks for a new text) has the focus,
    and the message starts in the same column as every other line of the step."""
    set_language("tr")
    message = time_over("e-onay")
    app = ScreenHost(
        lambda: EOnayConfirmScreen(values.holder(), start=never, message=message), "tr"
    )
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.query_one("#continue").has_focus
        assert "Devam Et ile yeni bir metin alın" in " ".join(screen_text(app).split())
        lefts = {screen.query_one(s).content_region.x for s in ("#holder", "#explain", "#status")}
        assert len(lefts) == 1, lefts


async def test_a_challenge_already_over_when_step_2_opens_ends_it_at_once():
    clock = values.fake_clock()
    app = ScreenHost(select_screen(values.challenge(clock, seconds=0)), "en")
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.pause()
    assert app.results == [Expired(time_over("login"))]
