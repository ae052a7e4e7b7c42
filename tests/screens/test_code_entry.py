"""Step 1 against the real simulator over loopback HTTP: each kind of code gets its own message."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.screens import values
from tests.screens.harness import ScreenHost, screen_text, settle, wait_for
from tests.screens.services import operations
from tui.core.challenge import Challenge
from tui.core.portal.client import PortalClient
from tui.core.settings import Settings
from tui.screens.code_entry import CodeEntryScreen
from tui.sim.state import PortalState
from tui.widgets.code_field import CodeField


@pytest.fixture
def portal(sim, sleeps) -> Iterator[PortalClient]:
    with PortalClient(sim.url, sleep=sleeps) as client:
        yield client


def host(portal, language="en", settings=None, message=None) -> tuple[ScreenHost, object]:
    clock = values.fake_clock()
    ops = operations(portal, clock, settings=settings)
    app = ScreenHost(lambda: CodeEntryScreen(ops.fetch_challenge, clock, message=message), language)
    return app, clock


async def submit(pilot, code: str) -> None:
    """Put `code` in the field as typing would (key by key is tested once, it is slow) and Enter."""
    pilot.app.screen.query_one(CodeField).insert_text_at_cursor(code)
    await pilot.press("enter")
    await settle(pilot)


async def test_a_valid_code_gives_its_challenge(sim, portal):
    record = sim.new_login()
    app, _clock = host(portal, "tr")
    async with app.run_test() as pilot:
        text = screen_text(app)
        assert "Doğrulama Kodu" in text and "E-imzalı Giriş" in text
        assert "0/14 hane" in text
        await pilot.press(*record.code[:3])
        assert "3/14 hane" in screen_text(app)
        await submit(pilot, record.code[3:])
    assert len(app.results) == 1
    challenge = app.results[0]
    assert isinstance(challenge, Challenge)
    assert challenge.code == record.code and challenge.text == record.text
    assert challenge.purpose == "login"


async def test_the_field_is_busy_while_the_portal_answers(sim, portal):
    record = sim.new_login()
    sim.faults.latency = 2.0  # a window wide enough to see on a loaded machine
    app, _clock = host(portal)
    async with app.run_test() as pilot:
        field = app.screen.query_one(CodeField)
        field.insert_text_at_cursor(record.code)
        await pilot.press("enter")
        # Poll (never a fixed pause): busy must show while the portal has not answered yet.
        await wait_for(
            pilot,
            lambda: field.disabled and "Looking up the code at the portal" in screen_text(app),
        )
        await settle(pilot)
    assert isinstance(app.results[0], Challenge)


async def test_pasted_spaces_and_dashes_are_dropped(sim, portal):
    record = sim.new_login()
    pasted = f"{record.code[:4]} {record.code[4:8]}-{record.code[8:]}"
    app, _clock = host(portal)
    async with app.run_test() as pilot:
        from textual import events

        app.screen.query_one(CodeField).post_message(events.Paste(pasted))
        await pilot.pause()
        assert "14/14 digits" in screen_text(app)
        await submit(pilot, "")
    assert app.results[0].code == record.code


async def test_too_few_digits_are_refused_before_asking_the_portal(sim, portal):
    app, _clock = host(portal)
    async with app.run_test() as pilot:
        await submit(pilot, "1234567890123")
        assert "The code has 14 digits; you typed 13." in screen_text(app)
    assert app.results == []
    assert sim.state.session_count() == 0


async def test_an_unknown_code(portal):
    app, _clock = host(portal, "tr")
    async with app.run_test() as pilot:
        await submit(pilot, "12345678901234")
        assert "Böyle bir doğrulama kodu yok" in screen_text(app)
        field = app.screen.query_one(CodeField)
        assert not field.disabled and field.has_focus
    assert app.results == []


async def test_an_expired_code(sim, sim_clock, portal):
    record = sim.new_login()
    sim_clock.advance(301)
    app, _clock = host(portal)
    async with app.run_test() as pilot:
        await submit(pilot, record.code)
        assert "Get a new code from the portal." in screen_text(app)
    assert app.results == []


async def test_rate_limiting_shows_the_wait(sim, sim_clock, portal):
    sim.reset(PortalState(clock=sim_clock, max_wrong_codes=2, wrong_code_window=60))
    app, clock = host(portal)
    async with app.run_test() as pilot:
        await submit(pilot, "11111111111111")
        await submit(pilot, "")
        await submit(pilot, "")
        text = screen_text(app)
        assert "Too many attempts. Wait 60 seconds and try again." in text
        clock.advance(45)
        app.screen._show_wait()
        assert "Wait 15 seconds" in screen_text(app)
        await submit(pilot, "")  # still waiting: nothing is sent
        assert "Wait 15 seconds" in screen_text(app)
        clock.advance(15)
        app.screen._show_wait()
        assert "You can try again now." in screen_text(app)
    assert app.results == []


async def test_a_text_that_cannot_be_shown_is_refused_here(sim, portal):
    sim.faults.set_hostile_text("bidi")
    record = sim.new_login()
    app, _clock = host(portal, "tr")
    async with app.run_test() as pilot:
        await submit(pilot, record.code)
        text = " ".join(screen_text(app).split())  # the message wraps at the screen's width
        assert "imzalanacağı haliyle tam olarak gösterilemeyen" in text
        assert "yön denetim karakteri U+202E RIGHT-TO-LEFT OVERRIDE" in text
        assert "Hiçbir şey imzalanmadı. Yeri: 64. karakter, 1. satır, 64. sütun." in text
    assert app.results == []


async def test_strict_mode_refuses_a_text_off_the_allowlist(sim, portal):
    record = sim.state.new_challenge("login", text="Başka bir metni onaylıyorum.")
    app, _clock = host(portal, settings=Settings(strict_text=True))
    async with app.run_test() as pilot:
        await submit(pilot, record.code)
        assert "Strict mode" in screen_text(app)
    assert app.results == []


async def test_a_message_from_the_previous_step_is_shown(portal):
    app, _clock = host(portal, message="The code's time is over. Nothing was signed.")
    async with app.run_test():
        assert "The code's time is over" in screen_text(app)


async def test_esc_cancels_a_slow_lookup_and_keeps_the_code(sim, portal):
    """Esc while the portal is slow: editable again, the code kept, and the late answer ignored."""
    record = sim.new_login()
    sim.faults.latency = 2.0
    clock = values.fake_clock()
    ops = operations(portal, clock)
    returned = threading.Event()

    def fetch(code: str) -> Challenge:
        try:
            return ops.fetch_challenge(code)
        finally:
            returned.set()  # the portal's answer is back in the app

    app = ScreenHost(lambda: CodeEntryScreen(fetch, clock), "en")
    async with app.run_test() as pilot:
        field = app.screen.query_one(CodeField)
        footer = screen_text(app).splitlines()[-1]
        assert "Cancel" not in footer  # nothing to cancel yet: Esc is not offered
        field.insert_text_at_cursor(record.code)
        await pilot.press("enter")
        await wait_for(pilot, lambda: field.disabled and "Esc Cancel" in screen_text(app))
        await pilot.press("escape")
        await pilot.pause()
        assert not field.disabled and field.has_focus
        assert field.value == record.code
        cancelled = "The lookup was cancelled. The code is kept: press Enter to try again."
        assert cancelled in " ".join(screen_text(app).split())
        assert "Esc Cancel" not in screen_text(app)
        assert not returned.is_set()  # cancelled while the portal was still answering

        await wait_for(pilot, returned.is_set)  # the late answer arrives...
        await settle(pilot)
        await pilot.pause(0.1)
        assert app.results == []  # ...and changes nothing
        assert app.screen.query_one(CodeField) is field and not field.disabled
        assert field.value == record.code
        assert cancelled in " ".join(screen_text(app).split())

        sim.faults.latency = 0.0
        await pilot.press("enter")  # the kept code, looked up again
        await settle(pilot)
    assert [c.code for c in app.results] == [record.code]


async def test_esc_cancels_in_turkish_too(sim, portal):
    record = sim.new_login()
    sim.faults.latency = 1.0
    app, _clock = host(portal, "tr")
    async with app.run_test() as pilot:
        field = app.screen.query_one(CodeField)
        field.insert_text_at_cursor(record.code)
        await pilot.press("enter")
        await wait_for(pilot, lambda: field.disabled)
        await pilot.press("escape")
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert "Kod sorgusu iptal edildi" in text
        await settle(pilot)
    assert app.results == []


async def test_a_dripping_portal_gets_a_clear_message_and_keeps_the_code():
    """A byte every 0.1 s: the call's deadline (shortened here) ends it, told in Turkish."""
    from tests.core.test_portal_deadline import (
        CODE,
        READ_TIMEOUT,
        answer,
        dripping_portal,
        wait_until,
    )

    with dripping_portal(answer()) as (url, drip):
        client = PortalClient(url, timeout=READ_TIMEOUT, deadline=0.8)
        with client:
            app, _clock = host(client, "tr")
            async with app.run_test() as pilot:
                await submit(pilot, CODE)
                text = " ".join(screen_text(app).split())
                assert (
                    "Portal çok yavaş yanıt verdi: 0.8 saniye içinde yanıtın tamamı gelmedi."
                    in text
                )
                field = app.screen.query_one(CodeField)
                assert field.value == CODE and not field.disabled
        wait_until(lambda: len(drip.sent) == 1)
        assert drip.cut_off == [True] and drip.sent[0] < drip.total
    assert app.results == []


async def test_a_message_about_the_code_goes_once_the_code_changes(sim, portal):
    """Issue 16, point 6: "you typed 5" stays no longer than five digits do; the same for the
    portal's refusal of a code, and for why the last code ended (on this screen's return)."""
    app, _clock = host(portal, "tr", message="Kodun süresi doldu. Hiçbir şey imzalanmadı.")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert "Kodun süresi doldu" in screen_text(app)
        await pilot.press("1")
        await pilot.pause()
        assert "Kodun süresi doldu" not in screen_text(app)  # a new code is being typed
        await pilot.press("2", "3", "4", "5", "enter")
        await pilot.pause()
        assert "Kod 14 hanelidir; 5 hane yazdınız." in screen_text(app)
        await pilot.press(*"123456789")
        await pilot.pause()
        text = screen_text(app)
        assert "14/14 hane" in text and "5 hane yazdınız" not in text
        await pilot.press("enter")  # a code the portal does not know
        await settle(pilot)
        refusal = " ".join(app.screen.query_one("#status").render().plain.split())
        assert refusal and refusal in " ".join(screen_text(app).split())
        await pilot.press("backspace")
        await pilot.pause()
        assert app.screen.query_one("#status").render().plain == ""
        await pilot.press("4", "enter")
        await settle(pilot)
        assert app.screen.query_one("#status").render().plain  # said again: the same code


async def test_a_wait_for_the_rate_limit_stays_while_typing(sim, sim_clock, portal):
    """Still true while the person types: the wait is not cleared with the field."""
    sim.reset(PortalState(clock=sim_clock, max_wrong_codes=1, wrong_code_window=60))
    app, _clock = host(portal)
    async with app.run_test() as pilot:
        await submit(pilot, "11111111111111")
        await submit(pilot, "")
        assert "Too many attempts" in screen_text(app)
        await pilot.press("backspace", "2")
        await pilot.pause()
        assert "Too many attempts" in screen_text(app)
