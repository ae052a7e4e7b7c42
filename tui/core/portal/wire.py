"""The portal API's wire format: decode and validate every response field.

Everything the portal sends is untrusted. These functions turn a response
body into the typed values of `challenge` and `results`, or raise
`ProtocolError` with a message naming the field that is wrong (never the
value of a secret, never a KeyError). They know nothing about HTTP
transport, so the property tests can hammer them without a network, and
the client stays about retries and sockets.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Final

from tui.core.challenge import Challenge, Purpose
from tui.core.clock import Clock
from tui.core.errors import (
    AlreadyActiveError,
    AlreadyUsedError,
    CertificateRejectedError,
    CodeExpiredError,
    CodeNotFoundError,
    HolderMismatchError,
    InvalidRequestError,
    PortalError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    SignatureInvalidError,
    TextTooLongError,
    UnauthorizedError,
)
from tui.core.results import EOnayAccepted, EOnayStatus, Holder, LoginAccepted, Session
from tui.core.text import MAX_TEXT_CHARS, check_signable, display_safe

CODE_DIGITS: Final = 14
NONCE_BYTES: Final = 32
MAX_SHORT_FIELD: Final = 256
MAX_SESSION_CHARS: Final = 4096
DEFAULT_RETRY_AFTER: Final = 60
MAX_RETRY_AFTER: Final = 24 * 3600
MAX_TIME_LEFT: Final = timedelta(minutes=15)
"""The spec's longest life of a challenge: more time left than this is malformed."""

_CODE = re.compile(r"[0-9]{14}\Z")
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}\Z")
_SESSION = re.compile(r"[\x21-\x7e]+\Z")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\Z",
    re.ASCII,
)
_PURPOSES: Final[tuple[Purpose, ...]] = ("login", "e-onay")

ERROR_CLASSES: Final[Mapping[str, type[PortalError]]] = {
    cls.code: cls
    for cls in (
        InvalidRequestError,
        UnauthorizedError,
        CodeNotFoundError,
        AlreadyUsedError,
        AlreadyActiveError,
        CodeExpiredError,
        SignatureInvalidError,
        CertificateRejectedError,
        HolderMismatchError,
        RateLimitedError,
        ServerError,
    )
}
"""Each machine code of the spec's error table, to its exception."""


def is_valid_code(code: object) -> bool:
    """A verification code is exactly 14 ASCII digits (no spaces, no other scripts' digits)."""
    return isinstance(code, str) and _CODE.match(code) is not None


# --- bodies ---------------------------------------------------------------


def check_json_content_type(value: str | None) -> None:
    """The API speaks `application/json` in UTF-8; anything else is not an API answer."""
    if value is None:
        raise ProtocolError("the portal's answer has no Content-Type")
    media_type, _, params = value.partition(";")
    if media_type.strip().lower() != "application/json":
        raise ProtocolError(f"the portal answered with Content-Type {display_safe(value, 60)!r}")
    for param in params.split(";"):
        name, _, charset = param.partition("=")
        if name.strip().lower() == "charset" and charset.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise ProtocolError("the portal's answer is not in UTF-8")


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ProtocolError(f"the portal's answer repeats the key {display_safe(key, 40)!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> object:
    raise ProtocolError(f"the portal's answer contains {name}, which is not JSON")


def decode_json(body: bytes) -> object:
    """Strict JSON: UTF-8 without BOM, no duplicate keys, no NaN, no absurd nesting."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("the portal's answer is not valid UTF-8") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except ProtocolError:
        raise
    except RecursionError:
        raise ProtocolError("the portal's answer is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        raise ProtocolError(f"the portal's answer is not valid JSON: {exc}") from None


# --- fields ---------------------------------------------------------------


def _object(data: object, what: str) -> Mapping[str, object]:
    if not isinstance(data, dict):
        raise ProtocolError(f"{what} is not a JSON object")
    return data


def _string(obj: Mapping[str, object], key: str, what: str, *, limit: int) -> str:
    if key not in obj:
        raise ProtocolError(f"{what} has no {key!r}")
    value = obj[key]
    if not isinstance(value, str):
        raise ProtocolError(f"{what}: {key!r} is not a string")
    if not value:
        raise ProtocolError(f"{what}: {key!r} is empty")
    if len(value) > limit:
        raise ProtocolError(f"{what}: {key!r} is longer than {limit} characters")
    return value


def _choice(obj: Mapping[str, object], key: str, what: str, allowed: tuple[str, ...]) -> str:
    value = _string(obj, key, what, limit=MAX_SHORT_FIELD)
    if value not in allowed:
        raise ProtocolError(
            f"{what}: {key!r} is {display_safe(value, 40)!r}, expected one of {', '.join(allowed)}"
        )
    return value


def parse_time(value: object, what: str) -> datetime:
    """RFC 3339 with an offset (Z or ±hh:mm) into an aware datetime."""
    if not isinstance(value, str):
        raise ProtocolError(f"{what} is not a string")
    match = _RFC3339.match(value)
    if match is None:
        raise ProtocolError(f"{what} is not an RFC 3339 time with an offset")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction, offset = match.group(7), match.group(8)
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    second = min(second, 59)  # a leap second counts as the second before it
    if offset in ("Z", "z"):
        tz = UTC
    else:
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise ProtocolError(f"{what} has an impossible UTC offset")
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
        moment.astimezone(UTC)  # an offset that pushes it out of range fails here
    except (ValueError, OverflowError):
        raise ProtocolError(f"{what} is not a real date and time") from None
    return moment


def _time_field(obj: Mapping[str, object], key: str, what: str) -> datetime:
    if key not in obj:
        raise ProtocolError(f"{what} has no {key!r}")
    return parse_time(obj[key], f"{what}: {key!r}")


def _nonce(obj: Mapping[str, object], what: str) -> bytes:
    value = _string(obj, "nonce", what, limit=MAX_SHORT_FIELD)
    if _NONCE.match(value) is None:
        raise ProtocolError(f"{what}: 'nonce' is not base64url of {NONCE_BYTES} bytes")
    try:
        raw = base64.urlsafe_b64decode(value + "=")
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{what}: 'nonce' is not base64url") from None
    # 43 characters carry 258 bits; the 2 spare bits must be zero (canonical form).
    if len(raw) != NONCE_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != value:
        raise ProtocolError(f"{what}: 'nonce' is not base64url of {NONCE_BYTES} bytes")
    return raw


def _expect_status_accepted(obj: Mapping[str, object], what: str) -> None:
    _choice(obj, "status", what, ("accepted",))


# --- the API's objects ----------------------------------------------------


def parse_challenge(
    data: object,
    *,
    clock: Clock,
    code: str | None = None,
    purpose: Purpose | None = None,
    scripts: Sequence[str] = (),
) -> Challenge:
    """A Challenge, its deadline anchored on `clock` now (call this on arrival).

    `code` and `purpose`, when given, must match: the portal must answer about
    the code that was asked for, and `POST /e-onay` must start an E-Onay.
    Its text is where the signable-text rule runs, the one time on its way to
    the card (UnsafeTextError), with `scripts` allowed besides Latin.
    """
    what = "the challenge"
    obj = _object(data, what)
    got_code = _string(obj, "code", what, limit=MAX_SHORT_FIELD)
    if not is_valid_code(got_code):
        raise ProtocolError(f"{what}: 'code' is not {CODE_DIGITS} ASCII digits")
    if code is not None and got_code != code:
        raise ProtocolError(f"{what} is for another code than the one asked for")
    purpose_text = _choice(obj, "purpose", what, _PURPOSES)
    got_purpose: Purpose = "login" if purpose_text == "login" else "e-onay"
    if purpose is not None and got_purpose != purpose:
        raise ProtocolError(f"{what}: 'purpose' is {got_purpose!r}, expected {purpose!r}")
    long_text = obj.get("text")
    if isinstance(long_text, str) and len(long_text) > MAX_TEXT_CHARS:
        # Told to the person as what it is: a text that cannot be shown in full to be signed.
        raise TextTooLongError(f"{what}: 'text' is longer than {MAX_TEXT_CHARS} characters")
    text = _string(obj, "text", what, limit=MAX_TEXT_CHARS)
    nonce = _nonce(obj, what)
    created_at = _time_field(obj, "created_at", what)
    expires_at = _time_field(obj, "expires_at", what)
    server_time = _time_field(obj, "server_time", what)
    if expires_at <= server_time:
        raise ProtocolError(f"{what}: 'expires_at' is not after 'server_time'")
    if expires_at - server_time > MAX_TIME_LEFT:
        # A code that lives for hours is not what the portal hands out: a wrong
        # clock or a forged answer, and a long life would let it be replayed.
        raise ProtocolError(f"{what}: 'expires_at' is more than 15 minutes after 'server_time'")
    if expires_at < created_at:
        raise ProtocolError(f"{what}: 'expires_at' is before 'created_at'")
    return Challenge.anchored(
        code=got_code,
        purpose=got_purpose,
        text=check_signable(text, scripts),  # after the protocol's checks: those come first
        nonce=nonce,
        created_at=created_at,
        expires_at=expires_at,
        server_time=server_time,
        clock=clock,
    )


def parse_login(data: object) -> LoginAccepted:
    """The 200 answer to a signed `login` challenge."""
    what = "the login answer"
    obj = _object(data, what)
    _expect_status_accepted(obj, what)
    _choice(obj, "purpose", what, ("login",))
    token = _string(obj, "session", what, limit=MAX_SESSION_CHARS)
    if _SESSION.match(token) is None:
        # Never put the token itself into the message: it is a credential.
        raise ProtocolError(f"{what}: 'session' is not a printable ASCII token")
    if "holder" not in obj:
        raise ProtocolError(f"{what} has no 'holder'")
    holder_obj = _object(obj["holder"], f"{what}: 'holder'")
    holder = Holder(
        name=_string(holder_obj, "name", f"{what}: 'holder'", limit=MAX_SHORT_FIELD),
        serial=_string(holder_obj, "serial", f"{what}: 'holder'", limit=MAX_SHORT_FIELD),
    )
    e_onay = _choice(obj, "e_onay", what, ("active", "inactive"))
    return LoginAccepted(session=Session(token), holder=holder, e_onay_active=e_onay == "active")


def parse_e_onay(data: object) -> EOnayAccepted:
    """The 200 answer to a signed `e-onay` challenge."""
    what = "the E-Onay answer"
    obj = _object(data, what)
    _expect_status_accepted(obj, what)
    _choice(obj, "purpose", what, ("e-onay",))
    _choice(obj, "e_onay", what, ("active",))
    return EOnayAccepted(
        reference=_string(obj, "reference", what, limit=MAX_SHORT_FIELD),
        activated_at=_time_field(obj, "activated_at", what),
    )


def parse_status(data: object) -> EOnayStatus:
    """The answer of `GET /api/v1/e-onay`."""
    what = "the E-Onay status"
    obj = _object(data, what)
    active = _choice(obj, "e_onay", what, ("active", "inactive")) == "active"
    for key in ("activated_at", "reference"):
        if key not in obj:
            raise ProtocolError(f"{what} has no {key!r}")
    activated_at = None if obj["activated_at"] is None else _time_field(obj, "activated_at", what)
    reference = (
        None if obj["reference"] is None else _string(obj, "reference", what, limit=MAX_SHORT_FIELD)
    )
    return EOnayStatus(active=active, activated_at=activated_at, reference=reference)


# --- errors ---------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime) -> int:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), within sane bounds."""
    if value is None:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(int(value) if len(value) <= 12 else MAX_RETRY_AFTER, MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    except (TypeError, ValueError, IndexError, OverflowError):
        return DEFAULT_RETRY_AFTER
    return max(0, min(int(seconds + 0.999), MAX_RETRY_AFTER))


def error_from_body(data: object) -> tuple[str, str]:
    """`{"error": {"code": ..., "message": ...}}` into (code, message for people, made safe)."""
    obj = _object(data, "the error answer")
    inner = _object(obj.get("error"), "the error answer's 'error'")
    code = _string(inner, "code", "the error answer", limit=MAX_SHORT_FIELD)
    message = inner.get("message", "")
    if not isinstance(message, str):
        raise ProtocolError("the error answer: 'message' is not a string")
    return code, display_safe(message, 300)


def error_for(status: int, code: str, message: str, retry_after: int = 0) -> PortalError:
    """The exception for a spec error code; an unknown code is a protocol error."""
    cls = ERROR_CLASSES.get(code)
    if cls is None:
        return ProtocolError(
            f"the portal answered HTTP {status} with an unknown error code "
            f"{display_safe(code, 40)!r}: {message}",
            status,
        )
    if cls is RateLimitedError:
        return RateLimitedError(message, status, retry_after=retry_after)
    return cls(message, status)
