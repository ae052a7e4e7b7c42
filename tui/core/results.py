"""What the portal answers once a signature is accepted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Holder:
    name: str
    serial: str  # masked by the portal, e.g. 13*******38


@dataclass(frozen=True)
class Session:
    """The portal session token; kept in memory only and never shown."""

    token: str = field(repr=False)

    def __repr__(self) -> str:
        return "Session(<hidden>)"


@dataclass(frozen=True)
class LoginAccepted:
    session: Session
    holder: Holder
    e_onay_active: bool


@dataclass(frozen=True)
class EOnayAccepted:
    reference: str
    activated_at: datetime


@dataclass(frozen=True)
class EOnayStatus:
    active: bool
    activated_at: datetime | None
    reference: str | None
