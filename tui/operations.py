"""What each step does with the card and the portal; every method blocks.

Screens run these in thread workers. The services are built lazily by the
factories the command passes in, so the heavy libraries (PyKCS11,
cryptography, httpx) load in the background after the first screen is drawn.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tui.core.card_info import CertificateInfo, PinState, Signature, TokenInfo
from tui.core.challenge import Challenge
from tui.core.errors import AlreadyActiveError, CodeExpiredError, EonayError
from tui.core.pin import Pin
from tui.core.results import EOnayStatus, Session
from tui.core.services import ServiceFactories
from tui.core.settings import Settings
from tui.core.setup.settings_check import SettingProblem, SettingsError
from tui.core.text import check_allowed
from tui.flow import AlreadyActive, EOnayDone, EOnayStarted, LoginDone

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardView:
    """One reading of the card(s): what the certificate screen shows."""

    tokens: list[TokenInfo]
    certificates: list[CertificateInfo]
    module_paths: list[str]


class Lazy(Generic[T]):
    """Builds a service once, on first use, from any thread.

    A factory that fails is tried again on the next use, so a person who
    fixes the problem (plugs in the reader, starts pcscd) needs no restart.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._factory()
            return self._value

    def loaded(self) -> T | None:
        return self._value

    def close(self, closer: Callable[[T], None]) -> None:
        with self._lock:
            if self._value is not None:
                closer(self._value)
                self._value = None


class Operations:
    """The blocking calls behind each screen, on top of the two services."""

    def __init__(self, services: ServiceFactories, settings: Settings) -> None:
        self._card = Lazy(services.card)
        # The one lock on the card, for the whole app: screens re-read it from one worker
        # while another signs, and a card service (the card process's socket, a PKCS#11
        # module's sessions) takes one call at a time, so it has no lock of its own.
        # Held here, the deadline of a challenge is checked once the card is free.
        self._card_lock = threading.Lock()
        self._portal = Lazy(services.portal)
        self.clock = services.clock
        self.settings = settings
        self._module_paths = services.module_paths
        self._setting_problems = Lazy(lambda: tuple(services.check_settings()))

    # --- loading and closing ----------------------------------------------

    def warm_up(self) -> None:
        """Build both services now (imports the heavy libraries); errors wait for their step."""
        for lazy in (self._portal, self._card):
            try:
                lazy.get()
            except Exception:  # noqa: S112 - shown later by the step that needs it
                continue

    def close(self) -> None:
        with self._card_lock:
            self._card.close(lambda card: card.close())
        self._portal.close(lambda portal: portal.close())

    def reset(self) -> None:
        """Kiosk, between two people: the card keeps no session and no login.

        Waits for a card call in progress (a signature) to end. A card service
        not built yet has nothing open, and is not built for this.
        """
        with self._card_lock:
            card = self._card.loaded()
            if card is not None:
                card.reset()

    # --- the text to sign -------------------------------------------------

    def accept_challenge(self, challenge: Challenge) -> Challenge:
        """Strict mode: refuse a text that is not on the allowlist, before any PIN.

        Whether the text can be shown exactly as signed was decided as it arrived
        (`Challenge.text` is a `SignableText`).
        """
        if self.settings.strict:
            check_allowed(challenge.text, challenge.purpose, self.settings.allowlist)
        return challenge

    # --- steps --------------------------------------------------------------

    def setting_problems(self) -> tuple[SettingProblem, ...]:
        """Settings that cannot work; checked once (a look at the address and the drivers)."""
        return self._setting_problems.get()

    def fetch_challenge(self, code: str) -> Challenge:
        """The code's challenge; never asked for while a setting cannot work, so the code
        is not spent on a flow that would fail later."""
        problems = self.setting_problems()
        if problems:
            raise SettingsError(problems)
        return self.accept_challenge(self._portal.get().get_challenge(code))

    def module_paths(self) -> list[str]:
        card = self._card.loaded()
        return card.module_paths() if card is not None else list(self._module_paths)

    def read_card(self) -> CardView:
        card = self._card.get()
        with self._card_lock:
            return CardView(card.tokens(), card.certificates(), card.module_paths())

    def certificate_present(self, cert: CertificateInfo) -> bool:
        """Is the token holding `cert` still there (same module, serial and label)?"""
        card = self._card.get()
        with self._card_lock:
            return any(token.key == cert.token.key for token in card.tokens())

    def prepare_signature(self, cert: CertificateInfo) -> PinState:
        """The PIN state as a PIN screen opens; the card makes the signature ready."""
        card = self._card.get()
        with self._card_lock:
            return card.prepare(cert)

    def release_card(self) -> None:
        """The PIN screen was left: the card lets go of what it made ready.
        A card service not built yet holds nothing, and is not built for this."""
        with self._card_lock:
            card = self._card.loaded()
            if card is None:
                return
            try:
                card.release()
            except EonayError as error:  # a card process that ended holds nothing
                log.info("releasing the card: %s", error)

    def sign(self, challenge: Challenge, cert: CertificateInfo, pin: Pin) -> Signature:
        """Sign the challenge's text; refuses once its time is over.

        The deadline is checked after the card is free, right before the card is asked.
        The card service wipes the PIN once it has used it; a PIN it is never handed
        (the time is over, the card service cannot start) is wiped here.
        """
        handed_over = False
        try:
            card = self._card.get()
            with self._card_lock:
                if challenge.expired():
                    raise CodeExpiredError("challenge expired before signing")
                handed_over = True
                return card.sign(cert, pin, challenge.text, challenge.nonce)
        finally:
            if not handed_over:
                pin.wipe()

    def submit_login(self, challenge: Challenge, signature: Signature) -> LoginDone:
        """Submit the login signature; when E-Onay is already active, read its receipt too."""
        portal = self._portal.get()
        login = portal.submit_login(challenge, signature)
        status = self._status_or_none(login.session) if login.e_onay_active else None
        return LoginDone(signature, login, status)

    def start_e_onay(self, session: Session) -> EOnayStarted | AlreadyActive:
        """ "E-ONAY İşlemleri" then "Devam Et": the portal answers with the E-Onay challenge."""
        try:
            challenge = self._portal.get().start_e_onay(session)
        except AlreadyActiveError:
            return AlreadyActive(self._status_or_none(session))
        return EOnayStarted(self.accept_challenge(challenge))

    def submit_e_onay(
        self, challenge: Challenge, session: Session, signature: Signature
    ) -> EOnayDone | AlreadyActive:
        try:
            accepted = self._portal.get().submit_e_onay(challenge, signature)
        except AlreadyActiveError:
            return AlreadyActive(self._status_or_none(session))
        return EOnayDone(signature, accepted)

    def _status_or_none(self, session: Session) -> EOnayStatus | None:
        """The receipt of an E-Onay given earlier; not worth failing the flow over."""
        try:
            return self._portal.get().e_onay_status(session)
        except EonayError:
            return None
