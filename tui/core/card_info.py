"""What a card, its PIN and its certificates are to a person: plain values.

Light on purpose (no PyKCS11, no cryptography), so screens can import it
before the heavy libraries are loaded. `token` and `certificates` fill them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class PinTries(Enum):
    UNKNOWN = "unknown"
    LOW = "low"  # CKF_USER_PIN_COUNT_LOW: fewer than the full count left
    FINAL = "final"  # CKF_USER_PIN_FINAL_TRY: one try left
    LOCKED = "locked"  # CKF_USER_PIN_LOCKED: none left


@dataclass(frozen=True)
class PinState:
    tries: PinTries = PinTries.UNKNOWN

    @property
    def tries_left(self) -> int | None:
        """0 when locked, 1 on the final try, else None (the card does not say)."""
        return {PinTries.LOCKED: 0, PinTries.FINAL: 1}.get(self.tries)

    @property
    def locked(self) -> bool:
        return self.tries is PinTries.LOCKED

    @property
    def final_try(self) -> bool:
        return self.tries is PinTries.FINAL


PIN_PAD_FLAG = "PROTECTED_AUTHENTICATION_PATH"  # CKF_PROTECTED_AUTHENTICATION_PATH, as named


@dataclass(frozen=True)
class TokenInfo:
    module_path: str
    slot_id: int
    label: str
    manufacturer: str
    model: str
    serial: str
    min_pin: int
    max_pin: int
    flags: tuple[str, ...]
    pin_state: PinState = field(default_factory=PinState)

    @property
    def pin_pad(self) -> bool:
        """The PIN is typed on the reader's own keypad (CKF_PROTECTED_AUTHENTICATION_PATH):
        eonay asks for none and logs in with a NULL PIN."""
        return PIN_PAD_FLAG in self.flags

    @property
    def key(self) -> str:
        """Identifies the token across re-reads (slot ids can change on re-insert)."""
        return f"{self.module_path}|{self.serial}|{self.label}"


@dataclass(frozen=True)
class CertificateInfo:
    """One certificate on a token, paired with its private key when present."""

    token: TokenInfo
    id: bytes  # CKA_ID
    label: str  # CKA_LABEL
    der: bytes = field(repr=False)
    holder: str  # subject CN
    national_id: str | None = field(repr=False)  # T.C. kimlik no from subject serialNumber
    serial_masked: str  # e.g. 13*******72
    issuer: str
    not_before: datetime
    not_after: datetime
    key: str  # "RSA 2048", "EC P-384"
    key_usage: tuple[str, ...]
    fingerprint_sha256: str  # hex
    qualified: bool
    valid_now: bool
    has_private_key: bool
    always_authenticate: bool = False
    reason: str | None = None  # a tui.core.reasons code when not usable
    # CA certificates found on the same token (DER), copied into the CMS after the signer's
    chain: tuple[bytes, ...] = field(default=(), repr=False)

    @property
    def list_id(self) -> str:
        """Stable across re-reads of the card: the token, the CKA_ID and the fingerprint.

        A card may hold the same certificate twice (under two CKA_IDs); this
        tells them apart, so a list never shows two entries with one id.
        """
        return f"{self.token.key}|{self.id.hex()}|{self.fingerprint_sha256}"

    @property
    def usable(self) -> bool:
        return self.reason is None

    @property
    def display_label(self) -> str:
        """Like the Java app: `HOLDER NAME - 13…`."""
        prefix = (self.national_id or "")[:2]
        return f"{self.holder} - {prefix}…" if prefix else self.holder


@dataclass(frozen=True)
class Signature:
    """A checked CAdES-BES signature, ready to submit."""

    cms: bytes = field(repr=False)
    signing_time: datetime
    certificate_fingerprint: str
