"""The simulated portal's memory: codes, sessions, holders, and the rules between them.

Plain Python with a lock, no HTTP: `portal_app` turns requests into calls
here and `SimError`s into the spec's error answers, and tests read the
state directly (for example, that E-Onay is active after two signatures).

Rules, from the spec:
* codes are 14 digits from `secrets`, single-use, and expire after `ttl`;
* the same CMS posted again for an answered code gets the same 200 (even
  after the code expired, so a lost answer is never lost for good); another
  CMS is 409 `already_used`;
* wrong codes (unknown or malformed) from one client are counted in a
  sliding window; past the limit every code lookup is 429 with Retry-After;
* E-Onay belongs to the holder (subject serialNumber), not to a session.
"""

from __future__ import annotations

import base64
import copy
import math
import re
import secrets
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from cryptography import x509

from tui.core.clock import Clock, SystemClock
from tui.core.text import LOGIN_TEXT
from tui.sim.verify import VerificationError, verify_signature

Purpose = Literal["login", "e-onay"]

ISTANBUL = timezone(timedelta(hours=3), "+03")
"""The portal speaks Turkish time, like the real one (2019-11-13T11:27:22+03:00)."""

E_ONAY_TEXT = (
    "Kamu Sertifikasyon Merkezi (Kamu SM) tarafından adıma düzenlenen nitelikli elektronik "
    "sertifikaya ilişkin işlemlerimi elektronik ortamda yürütmek istiyorum.\n"
    "\n"
    "Bu onayla, sertifikamın süresi dolmak üzereyken ya da dolduktan sonra yenileme "
    "(e-imza uzatma) başvurumu ıslak imzalı form göndermeden, nitelikli elektronik imzamla "
    "yapabileceğimi; bu başvuruların yalnızca kimliğimi doğrulayan geçerli bir nitelikli "
    "elektronik imzayla kabul edileceğini biliyorum.\n"
    "\n"
    "Elektronik ortamda verdiğim bu onayın 5070 sayılı Elektronik İmza Kanunu uyarınca "
    "elle atılmış imzayla aynı hukuki sonucu doğurduğunu, onayımı Kamu SM'ye başvurarak "
    "dilediğim zaman geri alabileceğimi ve kişisel verilerimin 6698 sayılı Kişisel Verilerin "
    "Korunması Kanunu kapsamında yalnızca bu işlemler için işleneceğini kabul ediyorum.\n"
    "\n"
    "Yukarıdaki metni okudum, anladım; E-Onay işlemini onaylıyorum."
)

_CODE = re.compile(r"[0-9]{14}\Z")
_BEARER = re.compile(r"Bearer ([\x21-\x7e]+)\Z", re.IGNORECASE)
PRUNE_AFTER = timedelta(hours=1)


class SimError(Exception):
    """An error answer of the spec: HTTP status, machine code, message for people."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class ChallengeRecord:
    code: str
    purpose: Purpose
    text: str
    nonce: bytes
    created_at: datetime
    expires_at: datetime
    holder_serial: str | None = None  # e-onay: who must sign it
    answer_cms: bytes | None = field(default=None, repr=False)
    answer: dict[str, Any] | None = None


@dataclass
class HolderRecord:
    serial: str  # full subject serialNumber; only the masked form leaves the portal
    name: str
    e_onay_active: bool = False
    activated_at: datetime | None = None
    reference: str | None = None


@dataclass
class SessionRecord:
    token: str = field(repr=False)
    holder_serial: str
    started: float  # monotonic


def mask_serial(serial: str) -> str:
    """`13*******38`: the first and last two characters, stars between."""
    if len(serial) <= 4:
        return "*" * len(serial)
    return serial[:2] + "*" * (len(serial) - 4) + serial[-2:]


def iso(moment: datetime) -> str:
    return moment.astimezone(ISTANBUL).isoformat(timespec="seconds")


def nonce_text(nonce: bytes) -> str:
    return base64.urlsafe_b64encode(nonce).rstrip(b"=").decode("ascii")


def load_trust_roots(paths: Iterable[Path]) -> list[x509.Certificate]:
    """Every certificate in each PEM file."""
    roots: list[x509.Certificate] = []
    for path in paths:
        roots.extend(x509.load_pem_x509_certificates(Path(path).read_bytes()))
    return roots


TESTPKI_DIR = Path(__file__).resolve().parent / "testpki"


def default_trust_roots() -> list[x509.Certificate]:
    """The project's committed TEST ONLY root, which the simulator trusts by default."""
    return load_trust_roots([TESTPKI_DIR / "root.pem"])


def default_intermediates() -> list[x509.Certificate]:
    """The committed test intermediate: the portal knows its own CA's intermediates,
    so a signature whose CMS carries only the signer certificate still chains."""
    path = TESTPKI_DIR / "intermediate.pem"
    return load_trust_roots([path]) if path.exists() else []


class PortalState:
    """Everything the simulated portal remembers. Thread-safe."""

    def __init__(
        self,
        *,
        ttl: float = 300.0,
        trust_roots: Sequence[x509.Certificate] | None = None,
        intermediates: Sequence[x509.Certificate] | None = None,
        clock: Clock | None = None,
        session_ttl: float = 3600.0,
        max_wrong_codes: int = 5,
        wrong_code_window: float = 60.0,
    ) -> None:
        self.ttl = ttl
        self.trust_roots: list[x509.Certificate] = (
            list(trust_roots) if trust_roots is not None else default_trust_roots()
        )
        self.intermediates: list[x509.Certificate] = (
            list(intermediates) if intermediates is not None else default_intermediates()
        )
        self.clock: Clock = clock or SystemClock()
        self.session_ttl = session_ttl
        self.max_wrong_codes = max_wrong_codes
        self.wrong_code_window = wrong_code_window
        self.revoked: set[int] = set()
        self._challenges: dict[str, ChallengeRecord] = {}
        self._sessions: dict[str, SessionRecord] = {}
        self._holders: dict[str, HolderRecord] = {}
        self._wrong: dict[str, deque[float]] = {}
        self._lock = threading.RLock()

    # --- reading, for tests and the page ------------------------------------

    def holder(self, serial: str) -> HolderRecord | None:
        with self._lock:
            record = self._holders.get(serial)
            return copy.copy(record) if record else None

    def holders(self) -> list[HolderRecord]:
        with self._lock:
            return [copy.copy(h) for h in self._holders.values()]

    def challenge_record(self, code: str) -> ChallengeRecord | None:
        with self._lock:
            record = self._challenges.get(code)
            return copy.copy(record) if record else None

    def answered(self) -> list[ChallengeRecord]:
        """Challenges answered with an accepted signature, oldest first (tests count them)."""
        with self._lock:
            return [copy.copy(r) for r in self._challenges.values() if r.answer is not None]

    def session_count(self) -> int:
        with self._lock:
            return len(self._sessions)

    # --- challenges ---------------------------------------------------------

    def _new_code(self) -> str:
        while True:
            code = str(10**13 + secrets.randbelow(9 * 10**13))  # 14 digits, no leading zero
            if code not in self._challenges:
                return code

    def _prune(self, now: datetime) -> None:
        stale = [c for c, r in self._challenges.items() if r.expires_at + PRUNE_AFTER < now]
        for code in stale:
            del self._challenges[code]

    def new_challenge(
        self, purpose: Purpose, *, text: str | None = None, holder_serial: str | None = None
    ) -> ChallengeRecord:
        """A fresh challenge; `text` replaces the usual one (tests, hostile-text fault)."""
        with self._lock:
            now = self.clock.now()
            self._prune(now)
            default = LOGIN_TEXT if purpose == "login" else E_ONAY_TEXT
            record = ChallengeRecord(
                code=self._new_code(),
                purpose=purpose,
                text=default if text is None else text,
                nonce=secrets.token_bytes(32),
                created_at=now,
                expires_at=now + timedelta(seconds=self.ttl),
                holder_serial=holder_serial,
            )
            self._challenges[record.code] = record
            return copy.copy(record)

    def challenge_json(self, record: ChallengeRecord) -> dict[str, Any]:
        return {
            "code": record.code,
            "purpose": record.purpose,
            "text": record.text,
            "nonce": nonce_text(record.nonce),
            "created_at": iso(record.created_at),
            "expires_at": iso(record.expires_at),
            "server_time": iso(self.clock.now()),
        }

    def seconds_left(self, record: ChallengeRecord) -> int:
        return max(0, int((record.expires_at - self.clock.now()).total_seconds()))

    # --- rate limiting of wrong codes --------------------------------------

    def _check_rate(self, client: str) -> None:
        window = self._wrong.get(client)
        if not window:
            return
        now = self.clock.monotonic()
        while window and window[0] <= now - self.wrong_code_window:
            window.popleft()
        if len(window) >= self.max_wrong_codes:
            wait = max(1, math.ceil(window[0] + self.wrong_code_window - now))
            raise SimError(
                429,
                "rate_limited",
                f"Çok fazla hatalı deneme. {wait} saniye sonra yeniden deneyin.",
                {"Retry-After": str(wait)},
            )

    def _wrong_code(self, client: str, error: SimError) -> SimError:
        self._wrong.setdefault(client, deque()).append(self.clock.monotonic())
        return error

    def _lookup(self, code: str, client: str) -> ChallengeRecord:
        self._check_rate(client)
        if not _CODE.match(code):
            raise self._wrong_code(
                client,
                SimError(400, "invalid_request", "Doğrulama kodu 14 haneli bir sayı olmalıdır."),
            )
        record = self._challenges.get(code)
        if record is None:
            raise self._wrong_code(
                client, SimError(404, "not_found", "Bu doğrulama kodu bulunamadı.")
            )
        return record

    def _check_not_expired(self, record: ChallengeRecord) -> None:
        if self.clock.now() >= record.expires_at:
            raise SimError(410, "expired", "Doğrulama kodunun süresi doldu. Yeni kod alın.")

    def get_challenge(self, code: str, client: str) -> dict[str, Any]:
        """`GET /api/v1/challenges/{code}`."""
        with self._lock:
            record = self._lookup(code, client)
            self._check_not_expired(record)
            return self.challenge_json(record)

    # --- signatures ---------------------------------------------------------

    def submit_signature(self, code: str, cms: bytes, client: str) -> dict[str, Any]:
        """`POST /api/v1/challenges/{code}/signature`: verify, then log in or activate E-Onay."""
        with self._lock:
            record = self._lookup(code, client)
            if record.answer is not None:
                if record.answer_cms == cms:
                    return copy.deepcopy(record.answer)
                raise SimError(
                    409, "already_used", "Bu doğrulama kodu başka bir imzayla kullanıldı."
                )
            self._check_not_expired(record)
            try:
                verified = verify_signature(
                    cms,
                    text=record.text,
                    nonce=record.nonce,
                    window=(record.created_at, record.expires_at),
                    trust_roots=self.trust_roots,
                    intermediates=self.intermediates,
                    revoked=self.revoked,
                )
            except VerificationError as exc:
                if exc.code == "certificate_rejected":
                    message = f"Sertifika kabul edilmedi: {exc.detail}."
                else:
                    message = f"İmza doğrulanamadı: {exc.detail}."
                raise SimError(422, exc.code, message) from None
            serial = verified.holder_serial
            if not serial:
                raise SimError(
                    422,
                    "certificate_rejected",
                    "Sertifika kabul edilmedi: the subject has no serialNumber.",
                )
            if record.purpose == "login":
                answer = self._log_in(serial, verified.holder_name or "")
            else:
                answer = self._activate(record, serial)
            record.answer_cms = cms
            record.answer = answer
            return copy.deepcopy(answer)

    def _log_in(self, serial: str, name: str) -> dict[str, Any]:
        holder = self._holders.get(serial)
        if holder is None:
            holder = self._holders[serial] = HolderRecord(serial=serial, name=name)
        elif name:
            holder.name = name
        token = secrets.token_urlsafe(32)
        self._sessions[token] = SessionRecord(token, serial, self.clock.monotonic())
        return {
            "status": "accepted",
            "purpose": "login",
            "session": token,
            "holder": {"name": holder.name, "serial": mask_serial(serial)},
            "e_onay": "active" if holder.e_onay_active else "inactive",
        }

    def _activate(self, record: ChallengeRecord, serial: str) -> dict[str, Any]:
        if serial != record.holder_serial:
            raise SimError(
                422,
                "holder_mismatch",
                "E-Onay, giriş yapan kişiden başka biri tarafından imzalanmış.",
            )
        holder = self._holders[serial]
        if holder.e_onay_active:
            raise SimError(409, "already_active", "E-Onay bu kişi için zaten etkin.")
        now = self.clock.now()
        holder.e_onay_active = True
        holder.activated_at = now
        holder.reference = f"EONAY-{now.astimezone(ISTANBUL):%Y%m%d}-{secrets.token_hex(4).upper()}"
        return {
            "status": "accepted",
            "purpose": "e-onay",
            "e_onay": "active",
            "reference": holder.reference,
            "activated_at": iso(now),
        }

    # --- sessions and E-Onay ------------------------------------------------

    def _session(self, authorization: str | None) -> SessionRecord:
        match = _BEARER.match(authorization or "")
        session = self._sessions.get(match.group(1)) if match else None
        if session is not None and self.clock.monotonic() - session.started > self.session_ttl:
            del self._sessions[session.token]
            session = None
        if session is None:
            raise SimError(
                401,
                "unauthorized",
                "Oturum bulunamadı. E-imzalı giriş yapın.",
                {"WWW-Authenticate": 'Bearer realm="eonay-sim"'},
            )
        return session

    def start_e_onay(self, authorization: str | None, *, text: str | None = None) -> dict[str, Any]:
        """`POST /api/v1/e-onay`: a new `e-onay` challenge for the logged-in holder."""
        with self._lock:
            session = self._session(authorization)
            if self._holders[session.holder_serial].e_onay_active:
                raise SimError(409, "already_active", "E-Onay bu kişi için zaten etkin.")
            record = self.new_challenge("e-onay", text=text, holder_serial=session.holder_serial)
            return self.challenge_json(record)

    def e_onay_status(self, authorization: str | None) -> dict[str, Any]:
        """`GET /api/v1/e-onay`."""
        with self._lock:
            holder = self._holders[self._session(authorization).holder_serial]
            return {
                "e_onay": "active" if holder.e_onay_active else "inactive",
                "activated_at": iso(holder.activated_at) if holder.activated_at else None,
                "reference": holder.reference,
            }
