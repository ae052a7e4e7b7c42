"""The whole app with a card on another machine: only P11_KIT_SERVER_ADDRESS names it.

The command's own wiring is used (`settings_from_args`, `build_services`):
no --module, the card's tokens come through `p11-kit server` and
p11-kit-client.so, the portal is the simulator. Pilot types the code and the
PINs; the simulator's state proves both signatures were accepted, and
`openssl cms -verify` accepts the CMS the portal received.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from textual.worker import WorkerCancelled, WorkerFailed

from tests.conftest import openssl_verify
from tests.core.test_p11kit import p11kit_server  # noqa: F401 (the fixture)
from tui.__main__ import build_parser
from tui.app import EonayApp
from tui.commands.app import build_services, discovered_modules, settings_from_args
from tui.core.setup.modules import ENV_MODULE, ENV_SERVER
from tui.core.text import LOGIN_TEXT
from tui.i18n import current_language, set_language
from tui.screens.certificate_select import CertificateSelectScreen
from tui.screens.done import DoneScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.pin_entry import PinEntryScreen
from tui.sim.server import running_portal
from tui.widgets.certificate_list import CertificateList

pytestmark = pytest.mark.softhsm


async def settle(pilot: Any, until: type, tries: int = 200) -> None:
    """Let workers finish until the screen is `until` (the card is reached over a socket)."""
    for _ in range(tries):
        for worker in list(pilot.app.workers):
            with suppress(WorkerFailed, WorkerCancelled):
                await worker.wait()
        await pilot.pause(0.05)
        if isinstance(pilot.app.screen, until):
            return
    raise AssertionError(f"still on {type(pilot.app.screen).__name__}, waited for {until}")


@pytest.fixture
def remote_only(
    p11kit_server: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    monkeypatch.setenv(ENV_SERVER, p11kit_server)
    monkeypatch.delenv(ENV_MODULE, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    language = current_language()
    yield p11kit_server
    set_language(language)


async def test_login_and_e_onay_through_p11kit(
    remote_only: str, softhsm_card: Any, tmp_path: Path
) -> None:
    with running_portal() as portal:
        args = build_parser().parse_args(["--portal", portal.url, "--lang", "en"])
        settings = settings_from_args(args)
        modules = discovered_modules(settings)
        assert len(modules) == 1 and modules[0].endswith("/p11-kit-client.so")
        app = EonayApp(build_services(settings), settings, poll_interval=0.2)
        code = portal.new_login().code
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.press(*code, "enter")
            await settle(pilot, CertificateSelectScreen)
            listing = pilot.app.screen.query_one(CertificateList)
            for _ in range(200):  # the card's listing arrives through the socket
                if listing.certificates:
                    break
                await pilot.pause(0.05)
            usable = [c for c in listing.certificates if c.usable]
            assert {c.token.module_path for c in listing.certificates} == set(modules)
            assert len(usable) == sum(h.usable for h in softhsm_card.holders)
            await pilot.press("down", "enter")  # several can sign: the person chooses
            await settle(pilot, PinEntryScreen)
            await pilot.press(*softhsm_card.pin, "enter")
            await settle(pilot, EOnayConfirmScreen)
            login = portal.state.challenge_record(code)
            assert login is not None and login.answer_cms is not None
            assert login.answer and login.answer["status"] == "accepted"
            assert openssl_verify(login.answer_cms, softhsm_card.root_pem, workdir=tmp_path) == (
                LOGIN_TEXT.encode()
            )
            await pilot.press("enter")  # E-ONAY Operations
            await pilot.pause()
            await pilot.press("enter")  # Continue
            await settle(pilot, PinEntryScreen)
            await pilot.press(*softhsm_card.pin, "enter")
            await settle(pilot, DoneScreen)
        holders = portal.state.holders()
        assert len(holders) == 1 and holders[0].e_onay_active
        assert holders[0].reference
