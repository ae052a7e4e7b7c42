"""The card process: loads the PKCS#11 modules, owns sessions and the PIN, and signs.

Started by `tui.core.card.client.CardProcessClient` as
`python -m tui.core.card.process --fd N --parent PID --module PATH ...`, with
one end of a socketpair as fd N. It hardens itself before anything else (not
dumpable, no core files, killed with its parent), sends its own stdout and
stderr to the app's log so a driver's prints never reach the terminal, then
answers requests (`tui.core.card.protocol`) one at a time with a `Pkcs11Card`.
When the app closes its end (or asks it to close) it ends every session,
finalizes the modules and exits. Why a process: see docs/card-process.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tui.core.card.protocol import (
    CloseCard,
    ListCertificates,
    ListTokens,
    PrepareSignature,
    ProtocolViolation,
    ReadPinState,
    ReleaseSession,
    ReplyValue,
    Request,
    ResetSessions,
    SignText,
    decode_request,
    encode_failure,
    encode_ready,
    encode_reply,
    read_frame,
    recv_exactly_into,
    send_frame,
)
from tui.core.errors import EonayError, TokenError
from tui.core.hardening import die_with_parent, harden_process
from tui.core.pin import Pin

if TYPE_CHECKING:
    from tui.core.card.pkcs11_card import Pkcs11Card

log = logging.getLogger("eonay.card_process")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tui.core.card.process")
    parser.add_argument("--fd", type=int, required=True, help="this end of the socketpair")
    parser.add_argument("--parent", type=int, required=True, help="the app's process id")
    parser.add_argument("--module", action="append", default=[], help="PKCS#11 module")
    parser.add_argument("--log", default=None, help="where stdout and stderr go")
    parser.add_argument("--pss", action="store_true", help="RSA-PSS signatures")
    return parser.parse_args(argv)


def output_to(path: str | None) -> None:
    """fd 1 and fd 2 to the app's log file (or /dev/null): drivers print there, not on screen."""
    target = os.open(path or os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
    finally:
        os.close(target)


def _receive_pin(sock: socket.socket, length: int) -> Pin:
    """The PIN bytes that follow a signing request, straight into a `Pin`'s own buffer."""
    pin = Pin()
    try:
        pin.load(lambda view: recv_exactly_into(sock, view), length)
    except ValueError:
        # Longer than this Pin holds: read the bytes off the socket, wipe them, refuse.
        scratch = bytearray(length)
        try:
            with memoryview(scratch) as view:
                recv_exactly_into(sock, view)
        finally:
            scratch[:] = bytes(length)
        raise
    except BaseException:  # the app went away mid-PIN: wipe what arrived
        pin.wipe()
        raise
    return pin


def answer(
    card: Pkcs11Card,
    request: Request,
    pin: Pin | None,
    early: Callable[[ReplyValue], None] | None = None,
) -> ReplyValue:
    """What `request` asks of the card. `early`, when given, sends the answer of a
    signature or a preparation as soon as the card has it; the card's own work
    (C_Logout and C_CloseSession; opening the session the signature will use) goes
    on after it, and the next request waits for it."""
    if isinstance(request, ListTokens):
        return card.tokens()
    if isinstance(request, ListCertificates):
        return card.certificates()
    if isinstance(request, ReadPinState):
        return card.pin_state(request.cert)
    if isinstance(request, PrepareSignature):
        return card.prepare(request.cert, on_state=early)
    if isinstance(request, ReleaseSession):
        card.release()
        return None
    if isinstance(request, SignText):
        assert pin is not None
        # wipes the PIN
        return card.sign(request.cert, pin, request.text, request.nonce, on_signed=early)
    if isinstance(request, ResetSessions):
        card.reset()
        return None
    if isinstance(request, CloseCard):
        card.reset()
        card.close()
        return None
    raise ProtocolViolation(f"no handler for {request!r}")


class _Answer:
    """One request's answer, sent once: early for a signature or a preparation."""

    def __init__(self, sock: socket.socket, card: Pkcs11Card, request: Request) -> None:
        self.sock, self.card, self.request = sock, card, request
        self.sent = False

    def early(self, value: ReplyValue) -> None:
        """The answer, as soon as the card has it: the app moves on while the card
        process finishes (C_Logout and C_CloseSession; the session a PIN screen's
        signature will use), before it reads the next request."""
        self.send(encode_reply(self.request, value, self.card.load_errors))

    def send(self, reply: bytes) -> None:
        self.sent = True
        send_frame(self.sock, reply)


def serve(sock: socket.socket, card: Pkcs11Card) -> None:
    """Answer requests until the app closes its end or asks this process to close."""
    while True:
        try:
            payload = read_frame(sock)
            if payload is None:
                return
            request = decode_request(payload)
        except (EOFError, ProtocolViolation) as err:  # the app is gone, or out of step
            log.warning("card process: %s", err)
            return
        if not _serve_one(sock, card, request) or isinstance(request, CloseCard):
            return


def _serve_one(sock: socket.socket, card: Pkcs11Card, request: Request) -> bool:
    """Answer `request`; False once the app is gone."""
    answer_ = _Answer(sock, card, request)
    pin: Pin | None = None
    try:
        if isinstance(request, SignText):
            try:
                pin = _receive_pin(sock, request.pin_length)
            except ValueError:
                raise TokenError("the PIN is longer than the card process accepts") from None
        # `Pkcs11Card.sign` wipes the PIN once C_Login (and C_Sign) have used it.
        value = answer(card, request, pin, answer_.early)
        reply = encode_reply(request, value, card.load_errors)
    except EOFError:
        return False
    except Exception as err:  # each error goes back typed; a bug is told as unexpected
        if answer_.sent:  # the app has its signature: what failed after is only logged
            if isinstance(err, OSError):  # the app is gone
                return False
            log.exception("card process: after answering %s", request.op)
            return True
        if not isinstance(err, TokenError):
            log.exception("card process: %s failed", request.op)
        reply = encode_failure(err)
    if answer_.sent:
        return True
    try:
        answer_.send(reply)
    except OSError:
        return False
    return True


def prefetch(card: Pkcs11Card) -> None:
    """Read the card while the person types the code.

    The process starts once the first screen is drawn; loading the module,
    C_Initialize and the listing happen then, not after the code. The card
    service keeps that answer, so the certificate screen's first listing costs
    one check of the card (seen changed: read again). A failure here is told
    by the request that meets it, typed, as without the prefetch.
    """
    try:
        card.certificates()
    except EonayError as err:
        log.info("card process: first read of the card: %s", err)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    harden_process()
    die_with_parent(args.parent)
    output_to(args.log)
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(asctime)s card process: %(message)s"
    )
    sock = socket.socket(fileno=args.fd)
    sock.setblocking(True)
    send_frame(sock, encode_ready(os.getpid()))  # hardened: the app may use this process

    from tui.core.card.pkcs11_card import Pkcs11Card  # PyKCS11 is loaded here, in this process only

    card = Pkcs11Card(args.module, pss=args.pss)
    try:
        prefetch(card)
        serve(sock, card)
    finally:
        try:
            card.reset()  # C_CloseAllSessions: no login outlives the app
            card.close()
        except Exception as err:  # a driver failing on the way out: exit anyway
            log.warning("card process: closing: %s", err)
        sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
