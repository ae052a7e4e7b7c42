"""The full-screen app for screen-reader and braille users: the terminal's cursor on the
focused field, and focus still visible in monochrome (NO_COLOR)."""

from __future__ import annotations

import argparse

import pytest
from textual.geometry import Offset

from tests.screens import values
from tests.screens.harness import screen_text, settle
from tests.screens.test_pin_entry import fake_clock, make, pin_field, portal  # noqa: F401
from tests.screens.test_widgets import Host
from tui.app import SCREEN_READER, EonayApp
from tui.core.clock import Deadline, SystemClock
from tui.core.portal.client import PortalClient
from tui.core.services import ServiceFactories
from tui.core.settings import Settings
from tui.core.setup.config import load_settings
from tui.widgets.code_field import CodeField
from tui.widgets.countdown import Countdown


def no_card() -> object:
    raise AssertionError("these tests never reach the card")


def code_entry_app(sim, sleeps) -> EonayApp:
    """The app itself, on its first screen (the simulator behind it; no card needed)."""
    client = PortalClient(sim.url, sleep=sleeps)
    services = ServiceFactories(
        card=no_card,  # type: ignore[arg-type]
        portal=lambda: client,
        clock=SystemClock(),
    )
    return EonayApp(services, Settings(language="en"))


async def test_the_terminal_cursor_follows_the_code_fields_cursor(sim, sleeps):
    app = code_entry_app(sim, sleeps)
    async with app.run_test() as pilot:
        await settle(pilot)
        field = app.screen.query_one(CodeField)
        start = field.content_region
        assert app.cursor_position == Offset(start.x, start.y)
        await pilot.press("4", "9", "5")
        assert app.cursor_position == Offset(start.x + 3, start.y)
        await pilot.press("left")
        assert app.cursor_position == Offset(start.x + 2, start.y)


async def test_the_terminal_cursor_follows_the_pin_field(make, softhsm_card):  # noqa: F811
    s = make()
    async with s.app.run_test() as pilot:
        await settle(pilot)
        field = pin_field(s.app)
        start = field.content_region
        assert s.app.cursor_position == Offset(start.x, start.y)
        await pilot.press(*softhsm_card.pin[:4])
        assert s.app.cursor_position == Offset(start.x + 4, start.y)


@pytest.mark.parametrize("no_color", [True, False])
async def test_focus_shows_in_monochrome(sim, sleeps, monkeypatch, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = code_entry_app(sim, sleeps)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert app.no_color is no_color
        field = app.screen.query_one(CodeField)
        assert field.has_focus
        kind = field.styles.border_top[0]
        if no_color:  # the shape and the weight say it, not a colour the filter flattens
            assert kind == "double" and field.styles.text_style.bold
        else:
            assert kind == "solid"


@pytest.mark.parametrize("screen_reader", [True, False])
async def test_the_screen_changes_only_when_the_time_is_said_in_screen_reader_mode(
    make,  # noqa: F811
    fake_clock,  # noqa: F811
    screen_reader,
):
    """Second by second until the code runs out: in screen-reader mode the whole screen's
    text changes only at 60, 30 and 10 s and at the end (what a screen reader reads out);
    without it, the digits change every second."""
    s = make()
    s.app.set_class(screen_reader, SCREEN_READER)
    async with s.app.run_test() as pilot:
        await settle(pilot)
        countdown = s.app.screen.query_one(Countdown)
        before = screen_text(s.app)
        first = "Time left: 5 minutes" if screen_reader else "Time left: 5:00"
        assert first in before
        changed_at: list[tuple[int, str]] = []
        while countdown.seconds > 0:
            fake_clock.advance(1)
            countdown.tick()
            await pilot.pause()
            now = screen_text(s.app)
            if now != before:
                [line] = [row.strip() for row in now.splitlines() if "Time left:" in row]
                changed_at.append((countdown.seconds, line))
            before = now
    if screen_reader:
        assert changed_at == [
            (60, "Time left: 1 minute"),
            (30, "Time left: 30 seconds"),
            (10, "Time left: 10 seconds"),
            (0, "Time left: 0 seconds"),
        ]
    else:
        assert [seconds for seconds, _line in changed_at] == list(range(299, -1, -1))


def test_screen_reader_mode_from_the_flag_the_file_or_the_variable(sim, sleeps, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[ui]\nscreen_reader = true\n")
    home = {"HOME": str(tmp_path)}
    assert load_settings(argparse.Namespace(config=str(config)), {}).screen_reader
    from_env = {**home, "EONAY_UI_SCREEN_READER": "1"}
    assert load_settings(argparse.Namespace(), from_env).screen_reader
    assert load_settings(argparse.Namespace(screen_reader=True), home).screen_reader
    assert not load_settings(argparse.Namespace(), home).screen_reader
    client = PortalClient(sim.url, sleep=sleeps)
    services = ServiceFactories(card=no_card, portal=lambda: client, clock=SystemClock())  # type: ignore[arg-type]
    assert EonayApp(services, Settings(screen_reader=True)).has_class(SCREEN_READER)
    assert not EonayApp(services, Settings()).has_class(SCREEN_READER)


async def test_the_terminal_cursor_follows_the_highlighted_certificate(faulty_card, sim):
    """Up and down the list, scrolled too: the cursor on the highlighted one's first line."""
    from tests.screens.test_certificate_select import host, listing

    with PortalClient(sim.url) as client:
        app = host(faulty_card, client)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            certificates = listing(app)
            certificates.focus()
            seen = []
            for key in ["down"] * 9 + ["up"] * 3:
                await pilot.press(key)
                await pilot.pause()
                cert = certificates.certificates[certificates.highlighted]
                at = app.cursor_position
                row = screen_text(app).splitlines()[at.y]
                assert row[at.x :].startswith(cert.holder), (key, at, row)
                seen.append(at.y)
            assert len(set(seen)) > 2  # it moved, and with a scrolled list too


async def test_the_time_in_words_is_turkish_by_default(make, fake_clock):  # noqa: F811
    s = make("tr")
    s.app.set_class(True, SCREEN_READER)
    async with s.app.run_test() as pilot:
        await settle(pilot)
        assert "Kalan süre: 5 dakika" in screen_text(s.app)
        fake_clock.advance(240)
        s.app.screen.query_one(Countdown).tick()
        await pilot.pause()
        assert "Kalan süre: 1 dakika" in screen_text(s.app)
        assert "1:00" not in screen_text(s.app)


@pytest.mark.parametrize(("left", "first"), [(45, "45 seconds"), (61, "1 minute 1 second")])
async def test_the_time_in_words_starts_from_the_time_left_when_shown(left, first):
    """A PIN screen shown late says the time as it is, then only the moments still ahead."""
    clock = values.fake_clock()
    countdown = Countdown(Deadline.in_seconds(left, clock).remaining, interval=3600)
    app = Host(countdown)
    app.set_class(True, SCREEN_READER)
    async with app.run_test() as pilot:
        await pilot.pause()
        said = [screen_text(app).splitlines()[0].strip()]
        while countdown.seconds > 0:
            clock.advance(1)
            countdown.tick()
            await pilot.pause()
            line = screen_text(app).splitlines()[0].strip()
            if line != said[-1]:
                said.append(line)
    ahead = [
        f"Time left: {t}"
        for t in ("1 minute", "30 seconds", "10 seconds")
        if left > 60 or t != "1 minute"
    ]
    assert said == [f"Time left: {first}", *ahead, "Time left: 0 seconds"]
