"""The end-to-end setting: a demo SoftHSM card of its own, the simulator, a tmux terminal."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.e2e.terminal import Terminal
from tui.sim.server import RunningPortal, running_portal
from tui.sim.softhsm import ProvisionedCard, demo_holders, provision_card


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if shutil.which("tmux") is None:
        skip = pytest.mark.skip(reason="tmux is not installed (./run installs it)")
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="module")
def demo_card(tmp_path_factory) -> ProvisionedCard:
    """A token with one qualified certificate; the app's process sees it through SOFTHSM2_CONF."""
    return provision_card(tmp_path_factory.mktemp("e2e-card"), holders=demo_holders())


@pytest.fixture
def portal() -> Iterator[RunningPortal]:
    with running_portal(log_level="error") as running:
        yield running


@pytest.fixture
def terminal(tmp_path, demo_card) -> Iterator[Terminal]:
    term = Terminal(tmp_path, {**demo_card.env, "XDG_STATE_HOME": str(tmp_path / "state")})
    try:
        yield term
    finally:
        term.close()
