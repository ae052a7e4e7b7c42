"""Driving the whole app with the keyboard, as a person would, and reading what it shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.widgets import Button, Static

from tui.screens.certificate_select import CertificateSelectScreen
from tui.screens.code_entry import CodeEntryScreen
from tui.screens.done import DoneScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.error import ErrorDialog
from tui.screens.pin_entry import Phase, PinEntryScreen
from tui.widgets.certificate_list import CertificateList
from tui.widgets.code_field import CodeField


async def until(pilot: Any, condition: Callable[[], object], timeout: float = 15.0) -> None:
    """Let the app run until `condition()` holds (workers are threads: poll, never sleep blind)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; the screen is {pilot.app.screen!r}: {status(pilot)}")
        await pilot.pause(0.02)


def status(pilot: Any) -> str:
    """The screen's status line (where each step says what went wrong or what it is doing)."""
    found = pilot.app.screen.query("#status")
    return str(found.first(Static).render()) if found else ""


def on(pilot: Any, screen_type: type) -> bool:
    return isinstance(pilot.app.screen, screen_type)


async def enter_code(pilot: Any, code: str, *, keys: bool = False) -> None:
    """The code into its field (key by key with `keys`: ~90 ms a key in Pilot), then Enter."""
    await until(pilot, lambda: on(pilot, CodeEntryScreen))
    if keys:
        await pilot.press(*code)
    else:
        pilot.app.screen.query_one(CodeField).insert_text_at_cursor(code)
    await pilot.press("enter")


async def choose(pilot: Any, holder: str) -> None:
    """On certificate select: ↓ until `holder`'s usable certificate is highlighted, Enter."""
    await until(pilot, lambda: on(pilot, CertificateSelectScreen))
    listing = pilot.app.screen.query_one(CertificateList)
    await until(pilot, lambda: any(c.holder == holder and c.usable for c in listing.certificates))
    for _ in range(3 * len(listing.certificates) + 2):
        chosen = listing.chosen()
        if chosen is not None and chosen.holder == holder:
            break
        await pilot.press("down")
    else:
        raise AssertionError(f"{holder} could not be highlighted")
    await pilot.press("enter")


async def pin_screen(pilot: Any) -> PinEntryScreen:
    """Wait for the PIN screen with the card's PIN state read (Enter waits for it)."""
    await until(
        pilot,
        lambda: on(pilot, PinEntryScreen) and pilot.app.screen.pin_state is not None,
    )
    return pilot.app.screen  # type: ignore[no-any-return]


async def sign_with(pilot: Any, pin: str) -> PinEntryScreen:
    """End (the whole text on the screen, which signing needs), the PIN, Enter."""
    screen = await pin_screen(pilot)
    await pilot.press("end", *pin, "enter")
    return screen


async def settled(pilot: Any, screen: PinEntryScreen) -> None:
    """Until the PIN screen has finished with the card and the portal (or was left)."""
    await until(
        pilot,
        lambda: (
            pilot.app.screen is not screen or screen.phase not in (Phase.SIGNING, Phase.SUBMITTING)
        ),
    )


async def start_e_onay(pilot: Any) -> None:
    """ "E-ONAY İşlemleri", then "Devam Et", by keyboard."""
    await until(pilot, lambda: on(pilot, EOnayConfirmScreen))
    await pilot.press("enter")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.query_one("#continue", Button).has_focus)
    await pilot.press("enter")


async def done(pilot: Any) -> DoneScreen:
    await until(pilot, lambda: on(pilot, DoneScreen))
    return pilot.app.screen  # type: ignore[no-any-return]


async def error_dialog(pilot: Any) -> ErrorDialog:
    await until(pilot, lambda: on(pilot, ErrorDialog))
    return pilot.app.screen  # type: ignore[no-any-return]


async def log_in(pilot: Any, code: str, holder: str, pin: str) -> PinEntryScreen:
    """Code, certificate, PIN and Enter: the login signature is under way."""
    await enter_code(pilot, code)
    await choose(pilot, holder)
    return await sign_with(pilot, pin)


async def whole_flow(pilot: Any, code: str, holder: str, pin: str) -> DoneScreen:
    """Code, certificate, PIN, E-Onay, PIN again: the guide from start to end."""
    await log_in(pilot, code, holder, pin)
    await start_e_onay(pilot)
    await sign_with(pilot, pin)
    return await done(pilot)
