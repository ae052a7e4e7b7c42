"""Stand-ins for the outside world, for the demo and the tests: the test PKI,
SoftHSM2 cards provisioned from it, and the portal simulator.

Nothing here is used on the production path (a real card, a real portal).
"""

from __future__ import annotations

import importlib.util

SIM_PACKAGES = ("starlette", "uvicorn")


def missing_packages() -> list[str]:
    """The simulator's web server packages (the `eonay[sim]` extra) that are not installed.

    A plain `pip install eonay` on a citizen's machine or a kiosk brings no web
    server; `eonay demo` and `eonay portal-sim` say how to get one instead of
    failing on an import.
    """
    return [name for name in SIM_PACKAGES if importlib.util.find_spec(name) is None]
