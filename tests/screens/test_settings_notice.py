"""Settings that cannot work are told on the first screen, before a code is typed (issue 16).

The app as `eonay` builds it (`tui.commands.app.build_services`), with the real
start-up check: a plain http:// portal on another computer, a card driver that
is not there. The code is then never looked up, so it is not spent.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.screens.harness import region_text, screen_text, settle, wait_for
from tui.app import EonayApp
from tui.commands.app import build_services
from tui.core.settings import Settings
from tui.screens.code_entry import CodeEntryScreen
from tui.widgets.code_field import CodeField
from tui.widgets.settings_notice import SettingsNotice

pytestmark = pytest.mark.softhsm

CODE = "12345678901234"


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port on 127.0.0.1 that would see any request made to the portal."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.settimeout(0.5)
        yield sock


def app_with(portal_url: str, module: str, language: str = "en") -> EonayApp:
    settings = Settings(
        portal_url=portal_url, modules=(module,), modules_origin="--module", language=language
    )
    return EonayApp(build_services(settings), settings)


def notice(app: EonayApp) -> str:
    """The notice's words as drawn ("" until it is on the screen)."""
    if not app.screen.query(SettingsNotice):
        return ""
    return region_text(app, "#settings-notice")


async def enter_code(pilot) -> None:
    pilot.app.screen.query_one(CodeField).insert_text_at_cursor(CODE)
    await pilot.press("enter")


async def test_plain_http_to_another_computer_is_told_before_a_code(softhsm_card):
    app = app_with("http://portal.example/", softhsm_card.module_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: bool(notice(app)))
        assert isinstance(app.screen, CodeEntryScreen)
        assert app.screen.query_one(CodeField).value == ""  # nobody has typed yet
        text = notice(app)
        assert "The portal address http://portal.example/ uses plain http:// to another" in text
        assert "start eonay with the portal's https:// address" in text
        assert "card driver" not in text  # the driver is fine: only what is wrong is told
        await enter_code(pilot)
        await wait_for(pilot, lambda: "was not looked up" in screen_text(app))
        assert "The code was not looked up, so it is still good" in " ".join(
            screen_text(app).split()
        )
        assert isinstance(app.screen, CodeEntryScreen)  # still step 1


async def test_a_missing_card_driver_is_told_and_the_portal_never_asked(listener):
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    app = app_with(url, "/nonexistent/libakisp11.so")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: bool(notice(app)))
        text = notice(app)
        assert (
            "The card driver /nonexistent/libakisp11.so does not exist. (given with --module)"
            in (text)
        )
        assert "`eonay doctor` shows the drivers it finds" in text
        assert "portal address" not in text  # http:// to this computer is allowed
        await enter_code(pilot)
        await wait_for(pilot, lambda: "was not looked up" in screen_text(app))
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing ever connected: the code was not spent


async def test_the_notice_speaks_the_chosen_language(softhsm_card):
    app = app_with("http://portal.example/", "/nonexistent/libakisp11.so", language="tr")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: bool(notice(app)))
        text = notice(app)
        assert "düz http://" in text and "--module ile verildi" in text
        assert "plain" not in text and "given with" not in text


async def test_good_settings_show_no_notice(softhsm_card, listener):
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    app = app_with(url, softhsm_card.module_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)  # the start-up check ran in the warm-up worker
        assert app.ops.setting_problems() == ()
        assert not app.screen.query(SettingsNotice)
