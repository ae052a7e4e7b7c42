"""The two services the app runs on, as small protocols.

The command that starts the app passes real ones (PKCS#11 card, httpx
portal); tests pass the same real ones, wrapped at the boundary for faults.
Every method blocks: screens call them from Textual thread workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the app builds `ServiceFactories` before its first screen: no value types yet
    from tui.core.card_info import CertificateInfo, PinState, Signature, TokenInfo
    from tui.core.challenge import Challenge
    from tui.core.clock import Clock
    from tui.core.pin import Pin
    from tui.core.results import EOnayAccepted, EOnayStatus, LoginAccepted, Session
    from tui.core.setup.settings_check import SettingProblem
    from tui.core.text import SignableText


class CardService(Protocol):
    """The card. One call at a time: not thread-safe, by design; the app's one card
    lock is in `tui.operations.Operations`."""

    def module_paths(self) -> list[str]:
        """The PKCS#11 modules in use, for "card not found" hints."""
        ...

    def tokens(self) -> list[TokenInfo]:
        """Tokens present now, re-read on every call."""
        ...

    def certificates(self) -> list[CertificateInfo]:
        """Certificates of every present token, usable first; re-read on every call."""
        ...

    def pin_state(self, cert: CertificateInfo) -> PinState:
        """Re-read the PIN flags of the certificate's token."""
        ...

    def sign(self, cert: CertificateInfo, pin: Pin, text: SignableText, nonce: bytes) -> Signature:
        """Log in once, sign `text` as CAdES-BES bound to `nonce`, log out; wipes `pin`.

        `text` was checked once, as it arrived; the card service does not check it again.

        Re-reads the certificate first and refuses if it is not byte-identical
        to `cert`. Never retries a login.
        """
        ...

    def reset(self) -> None:
        """End every session with every token, and so any login (kiosk: between people)."""
        ...

    def close(self) -> None: ...


class PortalService(Protocol):
    def get_challenge(self, code: str) -> Challenge: ...

    def submit_login(self, challenge: Challenge, signature: Signature) -> LoginAccepted: ...

    def start_e_onay(self, session: Session) -> Challenge: ...

    def submit_e_onay(self, challenge: Challenge, signature: Signature) -> EOnayAccepted: ...

    def e_onay_status(self, session: Session) -> EOnayStatus: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ServiceFactories:
    """What the command passes to the app: how to build each service, and the clock."""

    card: Callable[[], CardService]
    portal: Callable[[], PortalService]
    clock: Clock
    module_paths: tuple[str, ...] = ()  # shown in "card not found" hints before the card loads
    # Settings that cannot work (`tui.core.setup.settings_check`): run once, after the first
    # paint; a code is not looked up while there are any.
    check_settings: Callable[[], Sequence[SettingProblem]] = lambda: ()
