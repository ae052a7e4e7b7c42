"""A challenge from the portal: the text to sign, its nonce and its deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tui.core.clock import Clock, Deadline
from tui.core.text import SignableText

Purpose = Literal["login", "e-onay"]


@dataclass(frozen=True)
class Challenge:
    code: str
    purpose: Purpose
    text: SignableText
    """Checked once, on arrival (`tui.core.portal.wire.parse_challenge`)."""
    nonce: bytes
    created_at: datetime
    expires_at: datetime
    server_time: datetime
    deadline: Deadline
    """`expires_at - server_time`, anchored on the local monotonic clock at arrival."""

    @classmethod
    def anchored(
        cls,
        *,
        code: str,
        purpose: Purpose,
        text: SignableText,
        nonce: bytes,
        created_at: datetime,
        expires_at: datetime,
        server_time: datetime,
        clock: Clock,
    ) -> Challenge:
        ttl = (expires_at - server_time).total_seconds()
        return cls(
            code=code,
            purpose=purpose,
            text=text,
            nonce=nonce,
            created_at=created_at,
            expires_at=expires_at,
            server_time=server_time,
            deadline=Deadline.in_seconds(ttl, clock),
        )

    def seconds_left(self) -> float:
        return self.deadline.remaining()

    def expired(self) -> bool:
        return self.deadline.expired()
