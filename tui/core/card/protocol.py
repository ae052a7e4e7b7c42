"""What the UI process and the card process say to each other over their socketpair.

Each message is one frame: a 4-byte big-endian length, then that many bytes of
UTF-8 JSON. Every request, reply, value and error has its own encoder and
decoder here (no pickle: the card process never builds objects the UI names,
and the UI builds only the types listed here). A signing request carries the
PIN as raw bytes right after its frame, never inside the JSON: the UI sends
them from the PIN's own buffer with `sendmsg`, the card process receives them
with `recv_into` straight into a `Pin`, so no other copy of the digits is made
in either process.

Light on purpose: no PyKCS11 and no cryptography, so the UI can import it.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias, cast

from tui.core.card_info import CertificateInfo, PinState, PinTries, Signature, TokenInfo
from tui.core.errors import (
    CardBusyError,
    CardDriverHungError,
    CardDriverStoppedError,
    CardRemovedError,
    CertificateChangedError,
    CertificateNotUsableError,
    EonayError,
    InitializeArgsError,
    MechanismNotSupportedError,
    ModuleLoadError,
    NoUsableCertificateError,
    PinCancelledError,
    PinIncorrectError,
    PinLengthError,
    PinLockedError,
    SignatureCheckError,
    TokenError,
    UnsafeTextError,
)
from tui.core.pin import CAPACITY as PIN_CAPACITY
from tui.core.text import SignableText

_LENGTH = struct.Struct(">I")
MAX_FRAME = 16 * 1024 * 1024  # a listing of many certificates is a few hundred kB at most
MAX_PIN_BYTES = PIN_CAPACITY  # the card process receives into a Pin of this size

Json: TypeAlias = Any  # what json.loads returns; each decoder checks what it reads


class ProtocolViolation(ValueError):
    """The other side sent something this protocol does not have."""


class UnexpectedCardError(RuntimeError):
    """A bug in the card process (not an error of the card): told as an unexpected error."""


# --- frames -------------------------------------------------------------------


def send_frame(
    sock: socket.socket, payload: bytes, tail: memoryview | bytearray | None = None
) -> None:
    """One frame, then `tail` (the PIN) in the same `sendmsg`, from the caller's buffer."""
    if len(payload) > MAX_FRAME:
        raise ProtocolViolation("frame too long")
    parts: list[memoryview] = [memoryview(_LENGTH.pack(len(payload)) + payload)]
    if tail is not None and len(tail):
        parts.append(memoryview(tail).cast("B"))
    try:
        while parts:
            sent = sock.sendmsg(parts, [], socket.MSG_NOSIGNAL)
            while parts and sent >= len(parts[0]):
                sent -= len(parts[0])
                parts.pop(0).release()
            if parts and sent:
                parts[0] = parts[0][sent:]  # a view of the rest: no copy
    finally:
        for part in parts:
            part.release()


def recv_exactly_into(sock: socket.socket, view: memoryview, deadline: float | None = None) -> None:
    """Fill `view` from the socket (EOFError if it closes first, TimeoutError past `deadline`)."""
    done = 0
    while done < len(view):
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer before the deadline")
            sock.settimeout(left)
        try:
            got = sock.recv_into(view[done:])
        except TimeoutError:
            raise
        except (ConnectionResetError, BrokenPipeError) as err:
            raise EOFError(str(err)) from None
        if got == 0:
            raise EOFError("the other side closed the connection")
        done += got


def read_frame(sock: socket.socket, deadline: float | None = None) -> bytes | None:
    """The next frame's payload; None when the other side closed between frames."""
    head = bytearray(_LENGTH.size)
    with memoryview(head) as view:
        try:
            recv_exactly_into(sock, view[:1], deadline)
        except EOFError:
            return None
        recv_exactly_into(sock, view[1:], deadline)
    (length,) = _LENGTH.unpack(head)
    if length > MAX_FRAME:
        raise ProtocolViolation("frame too long")
    payload = bytearray(length)
    with memoryview(payload) as view:
        recv_exactly_into(sock, view, deadline)
    return bytes(payload)


def _dumps(message: dict[str, Json]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _loads(payload: bytes) -> dict[str, Json]:
    try:
        message = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ProtocolViolation(f"not a message: {err}") from None
    if not isinstance(message, dict):
        raise ProtocolViolation("a message is a JSON object")
    return message


# --- values -------------------------------------------------------------------


def pin_state_to_wire(state: PinState) -> Json:
    return state.tries.value


def pin_state_from_wire(data: Json) -> PinState:
    return PinState(PinTries(data))


def token_to_wire(token: TokenInfo) -> Json:
    return {
        "module_path": token.module_path,
        "slot_id": token.slot_id,
        "label": token.label,
        "manufacturer": token.manufacturer,
        "model": token.model,
        "serial": token.serial,
        "min_pin": token.min_pin,
        "max_pin": token.max_pin,
        "flags": list(token.flags),
        "pin_state": pin_state_to_wire(token.pin_state),
    }


def token_from_wire(data: Json) -> TokenInfo:
    return TokenInfo(
        module_path=str(data["module_path"]),
        slot_id=int(data["slot_id"]),
        label=str(data["label"]),
        manufacturer=str(data["manufacturer"]),
        model=str(data["model"]),
        serial=str(data["serial"]),
        min_pin=int(data["min_pin"]),
        max_pin=int(data["max_pin"]),
        flags=tuple(str(flag) for flag in data["flags"]),
        pin_state=pin_state_from_wire(data["pin_state"]),
    )


def _time(data: Json) -> datetime:
    return datetime.fromisoformat(str(data))


def _optional_str(data: Json) -> str | None:
    return None if data is None else str(data)


def certificate_to_wire(cert: CertificateInfo) -> Json:
    return {
        "token": token_to_wire(cert.token),
        "id": cert.id.hex(),
        "label": cert.label,
        "der": cert.der.hex(),
        "holder": cert.holder,
        "national_id": cert.national_id,
        "serial_masked": cert.serial_masked,
        "issuer": cert.issuer,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "key": cert.key,
        "key_usage": list(cert.key_usage),
        "fingerprint_sha256": cert.fingerprint_sha256,
        "qualified": cert.qualified,
        "valid_now": cert.valid_now,
        "has_private_key": cert.has_private_key,
        "always_authenticate": cert.always_authenticate,
        "reason": cert.reason,
        "chain": [der.hex() for der in cert.chain],
    }


def certificate_from_wire(data: Json) -> CertificateInfo:
    return CertificateInfo(
        token=token_from_wire(data["token"]),
        id=bytes.fromhex(data["id"]),
        label=str(data["label"]),
        der=bytes.fromhex(data["der"]),
        holder=str(data["holder"]),
        national_id=_optional_str(data["national_id"]),
        serial_masked=str(data["serial_masked"]),
        issuer=str(data["issuer"]),
        not_before=_time(data["not_before"]),
        not_after=_time(data["not_after"]),
        key=str(data["key"]),
        key_usage=tuple(str(usage) for usage in data["key_usage"]),
        fingerprint_sha256=str(data["fingerprint_sha256"]),
        qualified=bool(data["qualified"]),
        valid_now=bool(data["valid_now"]),
        has_private_key=bool(data["has_private_key"]),
        always_authenticate=bool(data["always_authenticate"]),
        reason=_optional_str(data["reason"]),
        chain=tuple(bytes.fromhex(der) for der in data["chain"]),
    )


def signature_to_wire(signature: Signature) -> Json:
    return {
        "cms": signature.cms.hex(),
        "signing_time": signature.signing_time.isoformat(),
        "certificate_fingerprint": signature.certificate_fingerprint,
    }


def signature_from_wire(data: Json) -> Signature:
    return Signature(
        cms=bytes.fromhex(data["cms"]),
        signing_time=_time(data["signing_time"]),
        certificate_fingerprint=str(data["certificate_fingerprint"]),
    )


# --- errors -------------------------------------------------------------------


@dataclass(frozen=True)
class _ErrorCodec:
    kind: type[EonayError]
    encode: Callable[[Any], dict[str, Json]]
    decode: Callable[[dict[str, Json]], EonayError]


def _message(err: EonayError) -> dict[str, Json]:
    return {"message": str(err)}


def _with_message(kind: Callable[[str], EonayError]) -> Callable[[dict[str, Json]], EonayError]:
    return lambda data: kind(str(data["message"]))


def _optional_int(data: Json) -> int | None:
    return None if data is None else int(data)


# Most specific first: an error is sent as the first of these it is an instance of.
_ERRORS: tuple[_ErrorCodec, ...] = (
    _ErrorCodec(
        InitializeArgsError,
        lambda e: {"path": e.path, "detail": e.detail, "null_accepted": e.null_accepted},
        lambda d: InitializeArgsError(
            str(d["path"]), str(d["detail"]), null_accepted=bool(d.get("null_accepted"))
        ),
    ),
    _ErrorCodec(
        ModuleLoadError,
        lambda e: {"path": e.path, "detail": e.detail},
        lambda d: ModuleLoadError(str(d["path"]), str(d["detail"])),
    ),
    _ErrorCodec(
        PinIncorrectError,
        lambda e: {"tries_left": e.tries_left},
        lambda d: PinIncorrectError(_optional_int(d["tries_left"])),
    ),
    _ErrorCodec(PinLockedError, lambda e: {}, lambda d: PinLockedError()),
    _ErrorCodec(PinCancelledError, lambda e: {}, lambda d: PinCancelledError()),
    _ErrorCodec(
        PinLengthError,
        lambda e: {"minimum": e.minimum, "maximum": e.maximum},
        lambda d: PinLengthError(int(d["minimum"]), int(d["maximum"])),
    ),
    _ErrorCodec(
        MechanismNotSupportedError,
        lambda e: {"mechanism": e.mechanism},
        lambda d: MechanismNotSupportedError(str(d["mechanism"])),
    ),
    _ErrorCodec(
        CertificateNotUsableError,
        lambda e: {"reason": e.reason},
        lambda d: CertificateNotUsableError(str(d["reason"])),
    ),
    _ErrorCodec(
        UnsafeTextError,
        lambda e: {"reason": e.reason, "position": e.position},
        lambda d: UnsafeTextError(str(d["reason"]), _optional_int(d["position"])),
    ),
    _ErrorCodec(CardBusyError, _message, _with_message(CardBusyError)),
    _ErrorCodec(CardRemovedError, _message, _with_message(CardRemovedError)),
    _ErrorCodec(CertificateChangedError, _message, _with_message(CertificateChangedError)),
    _ErrorCodec(NoUsableCertificateError, _message, _with_message(NoUsableCertificateError)),
    _ErrorCodec(SignatureCheckError, _message, _with_message(SignatureCheckError)),
    _ErrorCodec(CardDriverHungError, _message, _with_message(CardDriverHungError)),
    _ErrorCodec(CardDriverStoppedError, _message, _with_message(CardDriverStoppedError)),
    _ErrorCodec(TokenError, _message, _with_message(TokenError)),
)
_BY_NAME = {codec.kind.__name__: codec for codec in _ERRORS}


def error_to_wire(err: BaseException) -> Json:
    """An error the card raised, with what the UI needs to raise the same type again.

    Anything that is not an error of the card (a bug) goes as "unexpected",
    with its type's name and message, for the app's error log.
    """
    for codec in _ERRORS:
        if isinstance(err, codec.kind):
            return {"type": codec.kind.__name__, **codec.encode(err)}
    return {"type": "unexpected", "name": type(err).__name__, "message": str(err)}


def error_from_wire(data: Json) -> Exception:
    if not isinstance(data, dict) or "type" not in data:
        raise ProtocolViolation("an error names its type")
    if data["type"] == "unexpected":
        return UnexpectedCardError(f"{data['name']} in the card process: {data['message']}")
    codec = _BY_NAME.get(str(data["type"]))
    if codec is None:
        raise ProtocolViolation(f"unknown error type {data['type']!r}")
    return codec.decode(data)


# --- requests -----------------------------------------------------------------


@dataclass(frozen=True)
class ListTokens:
    op = "tokens"


@dataclass(frozen=True)
class ListCertificates:
    op = "certificates"


@dataclass(frozen=True)
class ReadPinState:
    op = "pin_state"
    cert: CertificateInfo


@dataclass(frozen=True)
class PrepareSignature:
    """The PIN state, and a session held for the signature to come (`Pkcs11Card.prepare`)."""

    op = "prepare"
    cert: CertificateInfo


@dataclass(frozen=True)
class ReleaseSession:
    """Close the session held for a signature that will not come."""

    op = "release"


@dataclass(frozen=True)
class SignText:
    """Sign `text` bound to `nonce`; `pin_length` PIN bytes follow the frame."""

    op = "sign"
    cert: CertificateInfo
    text: SignableText
    nonce: bytes
    pin_length: int


@dataclass(frozen=True)
class ResetSessions:
    op = "reset"


@dataclass(frozen=True)
class CloseCard:
    """Close every session and module, answer, and end the card process."""

    op = "close"


Request: TypeAlias = (
    ListTokens
    | ListCertificates
    | ReadPinState
    | PrepareSignature
    | ReleaseSession
    | SignText
    | ResetSessions
    | CloseCard
)


def encode_request(request: Request) -> bytes:
    message: dict[str, Json] = {"op": request.op}
    if isinstance(request, ReadPinState | PrepareSignature):
        message["cert"] = certificate_to_wire(request.cert)
    elif isinstance(request, SignText):
        if not 0 <= request.pin_length <= MAX_PIN_BYTES:
            raise ProtocolViolation("PIN length out of range")
        message.update(
            cert=certificate_to_wire(request.cert),
            text=request.text,
            nonce=request.nonce.hex(),
            pin_length=request.pin_length,
        )
    return _dumps(message)


def decode_request(payload: bytes) -> Request:
    message = _loads(payload)
    op = message.get("op")
    try:
        if op == ListTokens.op:
            return ListTokens()
        if op == ListCertificates.op:
            return ListCertificates()
        if op == ReadPinState.op:
            return ReadPinState(certificate_from_wire(message["cert"]))
        if op == PrepareSignature.op:
            return PrepareSignature(certificate_from_wire(message["cert"]))
        if op == ReleaseSession.op:
            return ReleaseSession()
        if op == SignText.op:
            pin_length = int(message["pin_length"])
            if not 0 <= pin_length <= MAX_PIN_BYTES:
                raise ProtocolViolation("PIN length out of range")
            return SignText(
                cert=certificate_from_wire(message["cert"]),
                text=_signable_from_peer(message["text"]),
                nonce=bytes.fromhex(message["nonce"]),
                pin_length=pin_length,
            )
        if op == ResetSessions.op:
            return ResetSessions()
        if op == CloseCard.op:
            return CloseCard()
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, ProtocolViolation):
            raise
        raise ProtocolViolation(f"malformed {op} request: {err!r}") from None
    raise ProtocolViolation(f"unknown request {op!r}")


def _signable_from_peer(data: Json) -> SignableText:
    """The text of a signing request, taken as the app checked it: not checked again.

    The only sender is the app that started this process, over a socketpair no one
    else holds, and it sends only a `SignableText` (the type of `SignText.text`),
    checked once as the challenge arrived, with the person's `[text] scripts`, which
    this process is not told. A check here would be a second guard on the same rule,
    with a rule the sender could not see (Latin only), not a defence against anyone.
    """
    if not isinstance(data, str):
        raise ProtocolViolation("the text to sign is not a string")
    return SignableText(data)


# --- the card process's first word ---------------------------------------------


def encode_ready(pid: int) -> bytes:
    """Sent once the card process is hardened, before it loads any module."""
    return _dumps({"ready": pid})


def decode_ready(payload: bytes) -> int:
    message = _loads(payload)
    pid = message.get("ready")
    if not isinstance(pid, int):
        raise ProtocolViolation("the card process did not say it is ready")
    return pid


# --- replies ------------------------------------------------------------------

ReplyValue: TypeAlias = list[TokenInfo] | list[CertificateInfo] | PinState | Signature | None


def _value_to_wire(request: Request, value: ReplyValue) -> Json:
    if isinstance(request, ListTokens):
        return [token_to_wire(t) for t in cast("list[TokenInfo]", value)]
    if isinstance(request, ListCertificates):
        return [certificate_to_wire(c) for c in cast("list[CertificateInfo]", value)]
    if isinstance(request, ReadPinState | PrepareSignature):
        assert isinstance(value, PinState)
        return pin_state_to_wire(value)
    if isinstance(request, SignText):
        assert isinstance(value, Signature)
        return signature_to_wire(value)
    return None


def _value_from_wire(request: Request, data: Json) -> ReplyValue:
    if isinstance(request, ListTokens):
        return [token_from_wire(t) for t in data]
    if isinstance(request, ListCertificates):
        return [certificate_from_wire(c) for c in data]
    if isinstance(request, ReadPinState | PrepareSignature):
        return pin_state_from_wire(data)
    if isinstance(request, SignText):
        return signature_from_wire(data)
    return None


@dataclass(frozen=True)
class Reply:
    """What the card process answered: a value, and the modules that did not load."""

    value: ReplyValue
    load_errors: dict[str, EonayError]


def encode_reply(
    request: Request, value: ReplyValue, load_errors: dict[str, EonayError] | None = None
) -> bytes:
    errors = {path: error_to_wire(err) for path, err in (load_errors or {}).items()}
    return _dumps({"ok": _value_to_wire(request, value), "load_errors": errors})


def encode_failure(err: BaseException) -> bytes:
    return _dumps({"error": error_to_wire(err)})


def decode_reply(request: Request, payload: bytes) -> Reply:
    """The answer to `request`; raises the error the card process raised."""
    message = _loads(payload)
    if "error" in message:
        raise error_from_wire(message["error"])
    try:
        load_errors: dict[str, EonayError] = {}
        for path, data in dict(message.get("load_errors") or {}).items():
            err = error_from_wire(data)
            if isinstance(err, EonayError):
                load_errors[str(path)] = err
        return Reply(_value_from_wire(request, message["ok"]), load_errors)
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, ProtocolViolation):
            raise
        raise ProtocolViolation(f"malformed reply to {request.op}: {err!r}") from None
