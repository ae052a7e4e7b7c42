"""Real services for screen tests: the portal client on the simulator, the SoftHSM card."""

from __future__ import annotations

from tui.core.clock import Clock
from tui.core.portal.client import PortalClient
from tui.core.services import CardService
from tui.core.settings import Settings
from tui.operations import Operations, ServiceFactories


def no_card() -> CardService:
    raise AssertionError("this test does not use the card")


def operations(
    portal: PortalClient,
    clock: Clock,
    card: CardService | None = None,
    settings: Settings | None = None,
) -> Operations:
    factories = ServiceFactories(
        card=(lambda: card) if card is not None else no_card,  # type: ignore[arg-type,return-value]
        portal=lambda: portal,
        clock=clock,
    )
    return Operations(factories, settings or Settings())
