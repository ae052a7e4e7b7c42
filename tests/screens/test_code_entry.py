"""Step 1 against the real simulator over loopback HTTP: each kind of code gets its own message."""

from __future__ import annotations

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
        assert "The code has expired" in screen_text(app)
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
