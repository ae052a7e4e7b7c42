"""The card protocol: every value and error crosses as itself, the PIN only as raw bytes."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime

import pytest

from tui.core.card import protocol as wire
from tui.core.card_info import PinState, PinTries, Signature
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
from tui.core.pin import Pin


def round_trip(request: wire.Request, value: wire.ReplyValue) -> wire.ReplyValue:
    return wire.decode_reply(request, wire.encode_reply(request, value)).value


@pytest.mark.softhsm
def test_the_real_cards_tokens_and_certificates_cross_unchanged(card):
    tokens = card.tokens()
    certs = card.certificates()
    assert tokens and len(certs) > 3 and any(c.chain for c in certs)
    assert round_trip(wire.ListTokens(), tokens) == tokens
    assert round_trip(wire.ListCertificates(), certs) == certs
    for cert in certs:
        request = wire.ReadPinState(cert)
        assert wire.decode_request(wire.encode_request(request)) == request
        sign = wire.SignText(cert, "metin\n\nçğış", b"\x00nonce\xff", 6)
        assert wire.decode_request(wire.encode_request(sign)) == sign


@pytest.mark.softhsm
def test_pin_states_and_signatures_cross_unchanged(card):
    cert = card.certificates()[0]
    for tries in PinTries:
        assert round_trip(wire.ReadPinState(cert), PinState(tries)) == PinState(tries)
    signature = Signature(b"\x30\x82cms", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "ab" * 32)
    assert round_trip(wire.SignText(cert, "x", b"n", 6), signature) == signature
    assert round_trip(wire.ResetSessions(), None) is None


ERRORS: list[EonayError] = [
    TokenError("C_GetSlotList: CKR_GENERAL_ERROR"),
    ModuleLoadError("/usr/lib/libakisp11.so", "no such file"),
    InitializeArgsError("/usr/lib/libakisp11.so", "CKR_ARGUMENTS_BAD"),
    InitializeArgsError("/usr/lib/libakisp11.so", "after NULL", null_accepted=True),
    CardRemovedError("token gone"),
    CardBusyError("C_OpenSession returned CKR_DEVICE_ERROR"),
    PinIncorrectError(None),
    PinIncorrectError(1),
    PinIncorrectError(0),
    PinLockedError(),
    PinCancelledError(),
    PinLengthError(4, 8),
    MechanismNotSupportedError("CKM_SHA256_RSA_PKCS"),
    NoUsableCertificateError("none"),
    CertificateNotUsableError("expired"),
    CertificateChangedError("the certificate on the card changed"),
    SignatureCheckError("bad"),
    UnsafeTextError("bidi control U+202E", 12),
    CardDriverStoppedError("ended"),
    CardDriverHungError("no answer"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: f"{type(e).__name__}-{e}")
def test_each_error_a_card_raises_arrives_as_the_same_type(error):
    with pytest.raises(EonayError) as raised:
        wire.decode_reply(wire.ListTokens(), wire.encode_failure(error))
    assert type(raised.value) is type(error)
    assert str(raised.value) == str(error)
    assert raised.value.user_message() == error.user_message()
    assert vars(raised.value) == vars(error)


def test_a_bug_in_the_card_process_arrives_as_an_unexpected_error():
    with pytest.raises(wire.UnexpectedCardError, match="KeyError in the card process"):
        wire.decode_reply(wire.ListTokens(), wire.encode_failure(KeyError("x")))


@pytest.mark.parametrize(
    "payload",
    [b"", b"[]", b"\xff", b'{"op": "format_card"}', b'{"op": "sign", "pin_length": 6}',
     b'{"op": "pin_state", "cert": {}}', b'{"op": "sign", "pin_length": 65}'],
)  # fmt: skip
def test_anything_else_is_refused(payload):
    with pytest.raises(wire.ProtocolViolation):
        wire.decode_request(payload)


def test_an_error_of_an_unknown_type_is_refused():
    with pytest.raises(wire.ProtocolViolation):
        wire.decode_reply(wire.ListTokens(), b'{"error": {"type": "SystemExit"}}')


def test_the_pin_travels_after_the_frame_from_buffer_to_buffer():
    """The frame holds only the PIN's length; its bytes go from one Pin's buffer into another's."""
    ours, theirs = socket.socketpair()
    sent = Pin.from_str("739146")
    payload = b'{"op":"sign","pin_length":6}'
    received = Pin()
    with ours, theirs:
        writer = threading.Thread(target=wire.send_frame, args=(ours, payload, sent.buffer()))
        writer.start()
        frame = wire.read_frame(theirs)
        received.load(lambda view: wire.recv_exactly_into(theirs, view), len(sent))
        writer.join()
        assert frame == payload
        assert bytes(received.buffer()) == b"739146"
        ours.close()
        assert wire.read_frame(theirs) is None  # closed between frames: a clean end


def test_a_frame_cut_short_is_an_end_of_file_and_a_silent_peer_a_timeout():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.sendall(b"\x00\x00\x00\x10{")
        with pytest.raises(TimeoutError):
            wire.read_frame(theirs, deadline=time.monotonic() + 0.2)  # 15 bytes never come
        ours.sendall(b"\x00\x00\x00\x10{")
        ours.close()
        with pytest.raises(EOFError):
            wire.read_frame(theirs)


def test_a_pin_longer_than_its_buffer_is_refused_before_anything_is_written():
    pin = Pin()
    filled: list[int] = []
    with pytest.raises(ValueError):
        pin.load(lambda view: filled.append(len(view)), 10_000)
    assert filled == [] and len(pin) == 0
