"""Fixtures of the portal tests (the simulator and the client), shared with tests/sim."""

from tests.portal_support import client, sim, sim_clock, sim_server, sleeps  # noqa: F401
