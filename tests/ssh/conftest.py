"""`eonay ssh` against a real sshd on 127.0.0.1 (tests/sshd.py), with the session's SoftHSM card."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sshd import Sshd, client_module, running_sshd, sshd_missing


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    why = sshd_missing() or (None if client_module() else "p11-kit-client.so is not installed")
    if why:
        for item in items:
            if "tests/ssh/" in item.nodeid:
                item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Iterator[Sshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as running:
        yield running
