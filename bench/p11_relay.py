"""A relay between p11-kit's client module and `p11-kit server`: a link with a round-trip
time, and a count of the PKCS#11 calls that cross it.

    python -m bench.p11_relay --listen RELAY.sock --upstream SERVER.sock --rtt-ms 50 --log CALLS

The client (`p11-kit-client.so` with `P11_KIT_SERVER_ADDRESS=unix:path=RELAY.sock`)
connects here; for each connection the relay connects to the server's socket and
forwards both ways.

**The delay.** Every message is held for half the round-trip time in each
direction: a request reaches the server RTT/2 after the client sent it, its reply
reaches the client RTT/2 after the server sent it, so one call costs one RTT more
than it would on the machine. Messages are scheduled by arrival, not queued behind
each other's delay, as on a real link (latency, no bandwidth limit). The one-byte
handshake at the start of a connection is delayed the same way.

**The framing** (p11-kit's `rpc-transport.c` and `rpc-message.c`): the client first
sends one byte (its protocol version; the server answers with one byte, its own).
Then every message, in both directions, is a 12-byte header of three big-endian
32-bit numbers (a message number chosen by the client's transport, the length of
an options block, the length of the body), the options, and the body. The body
starts with the RPC call code, big-endian 32-bit (`P11_RPC_CALL_*`, in `CALLS`
order), followed by the call's signature and arguments.

**The log.** One line per request, written and flushed when the whole request has
arrived (before its delay): `TIME PID CODE NAME`, where TIME is
`time.perf_counter()` (CLOCK_MONOTONIC on Linux, the same clock in every process,
so a benchmark can compare it with its own timestamps) and PID the client
process (SO_PEERCRED). The relay runs in its own process: PyKCS11 holds the GIL
through every call, so a relay thread in the same process as a PyKCS11 caller
could never answer it.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import itertools
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

HEADER = struct.Struct(">III")  # message number, options length, body length
CODE = struct.Struct(">I")

# p11-kit's P11_RPC_CALL_* codes, in order from 0 (rpc-message.h); the PKCS #11 3.0
# calls were appended after C_WaitForSlotEvent (p11-kit 0.24 stops there).
CALLS = (
    "ERROR",
    "C_Initialize",
    "C_Finalize",
    "C_GetInfo",
    "C_GetSlotList",
    "C_GetSlotInfo",
    "C_GetTokenInfo",
    "C_GetMechanismList",
    "C_GetMechanismInfo",
    "C_InitToken",
    "C_OpenSession",
    "C_CloseSession",
    "C_CloseAllSessions",
    "C_GetSessionInfo",
    "C_InitPIN",
    "C_SetPIN",
    "C_GetOperationState",
    "C_SetOperationState",
    "C_Login",
    "C_Logout",
    "C_CreateObject",
    "C_CopyObject",
    "C_DestroyObject",
    "C_GetObjectSize",
    "C_GetAttributeValue",
    "C_SetAttributeValue",
    "C_FindObjectsInit",
    "C_FindObjects",
    "C_FindObjectsFinal",
    "C_EncryptInit",
    "C_Encrypt",
    "C_EncryptUpdate",
    "C_EncryptFinal",
    "C_DecryptInit",
    "C_Decrypt",
    "C_DecryptUpdate",
    "C_DecryptFinal",
    "C_DigestInit",
    "C_Digest",
    "C_DigestUpdate",
    "C_DigestKey",
    "C_DigestFinal",
    "C_SignInit",
    "C_Sign",
    "C_SignUpdate",
    "C_SignFinal",
    "C_SignRecoverInit",
    "C_SignRecover",
    "C_VerifyInit",
    "C_Verify",
    "C_VerifyUpdate",
    "C_VerifyFinal",
    "C_VerifyRecoverInit",
    "C_VerifyRecover",
    "C_DigestEncryptUpdate",
    "C_DecryptDigestUpdate",
    "C_SignEncryptUpdate",
    "C_DecryptVerifyUpdate",
    "C_GenerateKey",
    "C_GenerateKeyPair",
    "C_WrapKey",
    "C_UnwrapKey",
    "C_DeriveKey",
    "C_SeedRandom",
    "C_GenerateRandom",
    "C_WaitForSlotEvent",
    "C_LoginUser",
    "C_SessionCancel",
    "C_MessageEncryptInit",
    "C_EncryptMessage",
    "C_EncryptMessageBegin",
    "C_EncryptMessageNext",
    "C_MessageEncryptFinal",
    "C_MessageDecryptInit",
    "C_DecryptMessage",
    "C_DecryptMessageBegin",
    "C_DecryptMessageNext",
    "C_MessageDecryptFinal",
    "C_MessageSignInit",
    "C_SignMessage",
    "C_SignMessageBegin",
    "C_SignMessageNext",
    "C_MessageSignFinal",
    "C_MessageVerifyInit",
    "C_VerifyMessage",
    "C_VerifyMessageBegin",
    "C_VerifyMessageNext",
    "C_MessageVerifyFinal",
    "C_InitToken2",
    "C_DeriveKey2",
)
# Larger than any real message (p11-kit itself refuses absurd header values): a
# stream that claims more is not p11-kit's RPC, and the relay drops it.
MAX_PART = 64 * 2**20


def call_name(code: int) -> str:
    return CALLS[code] if 0 <= code < len(CALLS) else f"unknown-{code}"


class FramingError(ValueError):
    """The stream does not follow p11-kit's RPC framing."""


@dataclass(frozen=True)
class Message:
    raw: bytes  # the whole message as sent: header, options, body
    code: int | None  # the body's RPC call code (None for the handshake byte)


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    """`n` bytes, or None when the peer closed the stream before the first of them."""
    parts: list[bytes] = []
    got = 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            if got == 0:
                return None
            raise FramingError(f"stream closed inside a message ({got} of {n} bytes)")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def read_messages(sock: socket.socket) -> Iterable[Message]:
    """The handshake byte, then every framed message, until the peer closes."""
    first = _read_exact(sock, 1)
    if first is None:
        return
    yield Message(first, None)
    while True:
        header = _read_exact(sock, HEADER.size)
        if header is None:
            return
        _, options_len, body_len = HEADER.unpack(header)
        if options_len > MAX_PART or body_len > MAX_PART:
            raise FramingError(f"header claims {options_len} + {body_len} bytes")
        rest = _read_exact(sock, options_len + body_len) if options_len + body_len else b""
        if rest is None:
            raise FramingError("stream closed after a header")
        body = rest[options_len:]
        code = CODE.unpack_from(body)[0] if len(body) >= CODE.size else None
        yield Message(header + rest, code)


class DelayedSender:
    """Sends each message `delay` seconds after it arrived, in order, on its own thread."""

    def __init__(self, sock: socket.socket, delay: float, on_close: Callable[[], None]) -> None:
        self._sock = sock
        self._delay = delay
        self._on_close = on_close
        self._queue: list[tuple[float, int, bytes | None]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def put(self, data: bytes | None) -> None:
        """Queue `data` (None: close the write side once everything before it went)."""
        with self._ready:
            due = time.perf_counter() + self._delay
            heapq.heappush(self._queue, (due, next(self._order), data))
            self._ready.notify()

    def _run(self) -> None:
        try:
            while True:
                with self._ready:
                    while not self._queue:
                        self._ready.wait()
                    due, _, data = self._queue[0]
                    wait = due - time.perf_counter()
                    if wait > 0:
                        self._ready.wait(wait)
                        continue
                    heapq.heappop(self._queue)
                if data is None:
                    return
                self._sock.sendall(data)
        except OSError:
            pass
        finally:
            self._on_close()


class Relay:
    """Accepts clients on `listen`; each gets its own connection to `upstream`."""

    def __init__(self, listen: Path, upstream: Path, rtt_s: float, log: Path) -> None:
        self.listen = listen
        self.upstream = upstream
        self.half = rtt_s / 2
        self._log = log.open("a", encoding="ascii", buffering=1)
        self._log_lock = threading.Lock()
        # Bound and listening under another name first: once `listen` exists, it answers.
        staging = listen.with_name(listen.name + ".new")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(staging))
        staging.chmod(0o600)
        self._server.listen(16)
        staging.rename(listen)

    def serve_forever(self) -> None:
        while True:
            client, _ = self._server.accept()
            threading.Thread(target=self._connection, args=(client,), daemon=True).start()

    def _record(self, pid: int, code: int | None) -> None:
        if code is None:
            return
        line = f"{time.perf_counter():.6f} {pid} {code} {call_name(code)}\n"
        with self._log_lock:
            self._log.write(line)

    def _connection(self, client: socket.socket) -> None:
        pid = struct.unpack("3i", client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.connect(str(self.upstream))
        except OSError:
            client.close()
            return
        closed = threading.Event()

        def close_both() -> None:
            if not closed.is_set():
                closed.set()
                for s in (client, server):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        to_server = DelayedSender(server, self.half, close_both)
        to_client = DelayedSender(client, self.half, close_both)

        def pump(source: socket.socket, sink: DelayedSender, count: bool) -> None:
            try:
                for message in read_messages(source):
                    if count:
                        self._record(pid, message.code)
                    sink.put(message.raw)
            except (OSError, FramingError) as err:
                print(f"p11_relay: {err}", file=sys.stderr, flush=True)
            finally:
                sink.put(None)

        replies = threading.Thread(target=pump, args=(server, to_client, False), daemon=True)
        replies.start()
        pump(client, to_server, True)
        replies.join()
        closed.wait()
        client.close()
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.p11_relay", description=__doc__)
    parser.add_argument("--listen", type=Path, required=True, help="the relay's unix socket")
    parser.add_argument("--upstream", type=Path, required=True, help="p11-kit server's socket")
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="round-trip time to add")
    parser.add_argument("--log", type=Path, required=True, help="one line per request")
    args = parser.parse_args(argv)
    relay = Relay(args.listen, args.upstream, args.rtt_ms / 1000, args.log)
    print("ready", flush=True)
    relay.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
