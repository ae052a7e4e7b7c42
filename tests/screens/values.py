"""Fixed values that screens show: built here, so snapshots never change with the date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from tui.core.card_info import CertificateInfo, PinState, TokenInfo
from tui.core.challenge import Challenge
from tui.core.clock import Clock, FakeClock
from tui.core.results import Holder
from tui.core.text import LOGIN_TEXT
from tui.flow import Receipt

ISTANBUL = timezone(timedelta(hours=3))
CREATED = datetime(2019, 11, 13, 11, 27, 22, tzinfo=ISTANBUL)
E_ONAY_TEXT = (
    "Kamu SM tarafından adıma düzenlenen nitelikli elektronik sertifikaya ilişkin "
    "işlemlerimi elektronik ortamda yürütmek istiyorum.\n\n"
    "Yukarıdaki metni okudum, anladım; E-Onay işlemini onaylıyorum."
)


def fake_clock() -> FakeClock:
    """Wall time 13.11.2019 11:27:38 (+03:00), as in the guide's screenshot."""
    return FakeClock(wall=datetime(2019, 11, 13, 8, 27, 38, tzinfo=UTC))


def token(label: str = "AKIS KART", serial: str = "2A1B3C4D", *, max_pin: int = 8) -> TokenInfo:
    return TokenInfo(
        module_path="/usr/lib/libakisp11.so",
        slot_id=0,
        label=label,
        manufacturer="TUBITAK UEKAE",
        model="AKIS v2.5.2",
        serial=serial,
        min_pin=4,
        max_pin=max_pin,
        flags=("CKF_TOKEN_INITIALIZED",),
    )


def certificate(
    holder: str = "TEVFİK EDİS",
    *,
    reason: str | None = None,
    qualified: bool = True,
    fingerprint: str = "aa" * 32,
    on: TokenInfo | None = None,
    key: str = "RSA 2048",
) -> CertificateInfo:
    return CertificateInfo(
        token=on or token(),
        id=bytes.fromhex(fingerprint[:8]),
        label="İmza Sertifikası",
        der=bytes.fromhex(fingerprint),
        holder=holder,
        national_id="13456789038",
        serial_masked="13*******38",
        issuer="Kamu SM Nitelikli Elektronik Sertifika Hizmet Sağlayıcısı - Sürüm 6",
        not_before=datetime(2019, 1, 1, tzinfo=ISTANBUL),
        not_after=datetime(2022, 11, 12, tzinfo=ISTANBUL),
        key=key,
        key_usage=("nonRepudiation",),
        fingerprint_sha256=fingerprint,
        qualified=qualified,
        valid_now=reason != "expired",
        has_private_key=True,
        reason=reason,
    )


def challenge(
    clock: Clock,
    *,
    purpose: str = "login",
    text: str | None = None,
    seconds: float = 285,
    code: str = "49586779463734",
) -> Challenge:
    server_time = CREATED + timedelta(seconds=16)
    return Challenge.anchored(
        code=code,
        purpose=purpose,  # type: ignore[arg-type]
        text=text if text is not None else (LOGIN_TEXT if purpose == "login" else E_ONAY_TEXT),
        nonce=b"\x01" * 32,
        created_at=CREATED,
        expires_at=server_time + timedelta(seconds=seconds),
        server_time=server_time,
        clock=clock,
    )


def holder() -> Holder:
    return Holder(name="TEVFİK EDİS", serial="13*******38")


def receipt(*, already_active: bool = False) -> Receipt:
    return Receipt(
        holder="TEVFİK EDİS",
        reference="EONAY-20191113-4F2A9C1B",
        activated_at=datetime(2019, 11, 13, 11, 31, 5, tzinfo=ISTANBUL),
        already_active=already_active,
        signed_at=None if already_active else datetime(2019, 11, 13, 11, 31, 4, tzinfo=ISTANBUL),
    )


NORMAL_PIN = PinState()
