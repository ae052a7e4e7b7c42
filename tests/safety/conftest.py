"""The whole app on the real parts: SoftHSM through a watched PKCS#11 boundary, the simulator.

`rig(...)` builds the real `EonayApp` with the real `Pkcs11Card` (its module
wrapped by `tests.safety.boundary`) and the real `PortalClient` talking to the
session's simulator over loopback HTTP (its httpx transport wrapped only to
record what was sent). The app's clock is the real clock plus an offset the
test can move, so a challenge can run out while the simulator's time does not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.portal_support import (  # noqa: F401 (the simulator's fixtures)
    ShiftedClock,
    Sleeps,
    sim,
    sim_clock,
    sim_server,
    sleeps,
)
from tests.safety.boundary import Boundary
from tui.app import EonayApp
from tui.core.card.pkcs11_card import Pkcs11Card
from tui.core.portal.client import PortalClient
from tui.core.settings import Settings
from tui.core.setup.logs import setup_logging
from tui.operations import ServiceFactories
from tui.sim.server import RunningPortal

HOLDER = "AYŞE GÜLŞEN ÇİFTÇİ"  # RSA-2048, qualified, on CARD_1
WRONG_PIN = "739147"


class RecordingTransport(httpx.BaseTransport):
    """The real HTTP transport; every request that went out is kept (method, path, body).

    `crash_at` makes one request raise something the client does not expect (a bug).
    """

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[tuple[str, str, bytes]] = []
        self.crash_at: dict[str, BaseException] = {}  # path suffix -> raised once (a bug)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path, request.read()))
        for suffix in list(self.crash_at):
            if request.url.path.endswith(suffix):
                raise self.crash_at.pop(suffix)
        return self.inner.handle_request(request)

    def posts(self, suffix: str) -> list[bytes]:
        return [
            body for method, path, body in self.sent if method == "POST" and path.endswith(suffix)
        ]

    def close(self) -> None:
        self.inner.close()


@dataclass
class Rig:
    app: EonayApp
    boundary: Boundary
    sim: RunningPortal
    clock: ShiftedClock
    http: RecordingTransport
    sleeps: Sleeps
    card: Pkcs11Card
    portal: PortalClient
    unexpected: list[BaseException] = field(default_factory=list)


@pytest.fixture
def rig(softhsm_card, sim) -> Iterator[Callable[..., Rig]]:  # noqa: F811
    """`rig(settings=None, poll=0.25, timeout=None)`: the app, built as `eonay` builds it,
    on the real parts.

    Each call has its own `Boundary` (what crossed it, and the faults to add).
    """
    built: list[Rig] = []

    def build(
        settings: Settings | None = None, poll: float = 0.25, timeout: httpx.Timeout | None = None
    ) -> Rig:
        boundary = Boundary()
        clock = ShiftedClock()
        http = RecordingTransport()
        pauses = Sleeps()
        card = boundary.card(softhsm_card.module_path)
        options = {"timeout": timeout} if timeout is not None else {}
        portal = PortalClient(sim.url, clock=clock, transport=http, sleep=pauses, **options)
        services = ServiceFactories(
            card=lambda: card,
            portal=lambda: portal,
            clock=clock,
            module_paths=(softhsm_card.module_path,),
        )
        app = EonayApp(services, settings or Settings(language="en"), poll_interval=poll)
        made = Rig(app, boundary, sim, clock, http, pauses, card, portal)
        report = app.report_unexpected

        def watched(error: BaseException, where: str = "") -> None:
            made.unexpected.append(error)
            report(error, where)

        app.report_unexpected = watched  # type: ignore[method-assign]
        built.append(made)
        return made

    yield build
    for made in built:
        made.card.close()
        made.portal.close()


@pytest.fixture
def debug_log(tmp_path) -> Iterator[tuple[Path, list[str]]]:
    """The app's own log set-up (tui.core.setup.logs, redacted file) at DEBUG.

    Yields the file and, besides, every record as it was logged, before any
    redaction: the PIN must not even reach a logger.
    """
    raw: list[str] = []
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

    class KeepRaw(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raw.append(formatter.format(record) + repr(record.args))

    root = logging.getLogger()
    level = root.level
    path = setup_logging(Settings(log_level="DEBUG", log_file=tmp_path / "state" / "eonay.log"))
    keep = KeepRaw(logging.DEBUG)
    root.handlers.insert(0, keep)  # before the redacting file handler rewrites the record
    try:
        yield path, raw
    finally:
        root.removeHandler(keep)
        for handler in list(root.handlers):
            if getattr(handler, "eonay", False):
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)
