"""The bare Textual app after the app's own card and portal code did their work once.

Not a figure: it splits the memory above the library floor. The process lists
the card's certificates through `Pkcs11Card` (SoftHSM initialised, a session,
the objects read and described), asks the portal for a challenge through
`PortalClient` (httpcore, h11, the socket) and imports the app's modules, then
shows the bare one-Static app. What the real app holds beyond this is its user
interface. Run as `python -m bench.baselines.libraries_in_use MODULE PORTAL_URL CODE`.
"""

from __future__ import annotations

import sys


def main() -> None:
    module, portal_url, code = sys.argv[1:4]
    from tui.core.card.pkcs11_card import Pkcs11Card
    from tui.core.portal.client import PortalClient

    card = Pkcs11Card([module])
    if not card.certificates():
        raise SystemExit("no certificate on the card")
    portal = PortalClient(portal_url)
    portal.get_challenge(code)
    import tui.app  # noqa: F401  (the app's modules, imported and not used)
    from bench.baselines.bare_static import BareApp

    BareApp("Doğrulama Kodu").run()


if __name__ == "__main__":
    main()
