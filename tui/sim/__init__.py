"""Stand-ins for the outside world, for the demo and the tests: the test PKI,
SoftHSM2 cards provisioned from it, and the portal simulator.

Nothing here is used on the production path (a real card, a real portal).
"""
