"""Faults injected at the card's boundary, around the real SoftHSM card.

SoftHSM never locks a PIN and its tokens cannot be pulled out, so these
cases are made here; every other call goes to the real token.
"""

from __future__ import annotations

from tui.core.card_info import CertificateInfo, PinState, Signature, TokenInfo
from tui.core.errors import CardRemovedError, PinLockedError
from tui.core.pin import Pin
from tui.core.services import CardService


class FaultyCard:
    def __init__(self, real: CardService) -> None:
        self.real = real
        self.pulled: set[str] = set()  # token labels taken out of the reader
        # A card that holds only these holders' certificates (the session card holds many).
        self.only_holders: set[str] | None = None
        self.pin_flags: PinState | None = None  # what the token's PIN flags say instead
        self.crash_next_read: BaseException | None = None
        self.sign_calls = 0
        self.resets = 0

    def module_paths(self) -> list[str]:
        return self.real.module_paths()

    def tokens(self) -> list[TokenInfo]:
        return [t for t in self.real.tokens() if t.label not in self.pulled]

    def certificates(self) -> list[CertificateInfo]:
        if self.crash_next_read is not None:
            error, self.crash_next_read = self.crash_next_read, None
            raise error
        return [
            c
            for c in self.real.certificates()
            if c.token.label not in self.pulled
            and (self.only_holders is None or c.holder in self.only_holders)
        ]

    def pin_state(self, cert: CertificateInfo) -> PinState:
        if cert.token.label in self.pulled:
            raise CardRemovedError("token pulled out")
        return self.pin_flags if self.pin_flags is not None else self.real.pin_state(cert)

    def prepare(self, cert: CertificateInfo) -> PinState:
        if cert.token.label in self.pulled:
            raise CardRemovedError("token pulled out")
        state = self.real.prepare(cert)
        return self.pin_flags if self.pin_flags is not None else state

    def release(self) -> None:
        self.real.release()

    def sign(self, cert: CertificateInfo, pin: Pin, text: str, nonce: bytes) -> Signature:
        self.sign_calls += 1
        if cert.token.label in self.pulled:
            pin.wipe()
            raise CardRemovedError("token pulled out")
        if self.pin_flags is not None and self.pin_flags.locked:
            pin.wipe()
            raise PinLockedError()
        return self.real.sign(cert, pin, text, nonce)

    def reset(self) -> None:
        self.resets += 1
        self.real.reset()

    def close(self) -> None:
        """The real card belongs to its fixture."""
