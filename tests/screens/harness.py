"""A minimal host app for one screen: the app's styles, a language, and what came back."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.worker import WorkerCancelled, WorkerFailed

from tests.screen_text import screen_text
from tui.app import EonayApp
from tui.i18n import set_language


class ScreenHost(App[None]):
    """Shows the screen `make()` builds and records what it is dismissed with."""

    CSS_PATH = EonayApp.CSS_PATH  # type: ignore[assignment]
    BINDINGS = EonayApp.BINDINGS  # the same key bar as the app
    HORIZONTAL_BREAKPOINTS = EonayApp.HORIZONTAL_BREAKPOINTS  # the same size classes
    VERTICAL_BREAKPOINTS = EonayApp.VERTICAL_BREAKPOINTS

    def __init__(self, make: Callable[[], Screen[Any]], language: str = "en") -> None:
        set_language(language)
        super().__init__()
        self._make = make
        self.results: list[Any] = []
        self.unexpected: list[BaseException] = []

    def on_mount(self) -> None:
        self.push_screen(self._make(), self.results.append)

    def report_unexpected(self, error: BaseException, where: str = "") -> None:
        self.unexpected.append(error)


async def settle(pilot: Any) -> None:
    """Let running workers finish (failed ones too) and their results reach the screen."""
    for worker in list(pilot.app.workers):
        with suppress(WorkerFailed, WorkerCancelled):
            await worker.wait()
    await pilot.pause()


def region_text(app: App[Any], selector: str) -> str:
    """The words drawn inside one widget (its frame and padding left out), wrapping undone."""
    region = app.screen.query_one(selector).content_region
    lines = screen_text(app).split("\n")[region.y : region.bottom]
    return " ".join(" ".join(line[region.x : region.right].split()) for line in lines).strip()


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Pause until `condition()` holds (workers and timers run meanwhile)."""
    loop_time = 0.0
    while not condition():
        if loop_time > timeout:
            raise AssertionError(f"timed out waiting; screen is {pilot.app.screen!r}")
        await pilot.pause(0.05)
        loop_time += 0.05
