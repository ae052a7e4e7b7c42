"""A portal that drips its answer: every call ends by its deadline, retries included.

A byte every few moments keeps each read inside the read timeout, so only a
deadline for the whole call ends it. The servers here are real sockets on
127.0.0.1 that send a valid answer one byte at a time; the client's deadline
is shortened through its constructor so the tests take a second, not twenty.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from tests.portal_support import Sleeps
from tui.core.errors import PortalTimeoutError, PortalTooSlowError
from tui.core.portal.client import DEFAULT_DEADLINE, PortalClient, RetryPolicy
from tui.core.text import LOGIN_TEXT
from tui.i18n import set_language
from tui.sim.state import nonce_text

CODE = "49586779463734"
DRIP_PAUSE = 0.1  # seconds between two bytes: far inside the read timeout
READ_TIMEOUT = httpx.Timeout(connect=5.0, read=5.0, write=5.0, pool=5.0)


def answer() -> bytes:
    body = json.dumps(
        {
            "code": CODE,
            "purpose": "login",
            "text": LOGIN_TEXT,
            "nonce": nonce_text(bytes(range(32))),
            "created_at": "2019-11-13T11:27:22+03:00",
            "expires_at": "2019-11-13T11:32:22+03:00",
            "server_time": "2019-11-13T11:27:38+03:00",
        }
    ).encode()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + body


@dataclass
class Drip:
    """What the dripping server managed to send, per connection."""

    total: int
    sent: list[int] = field(default_factory=list)
    cut_off: list[bool] = field(default_factory=list)


@contextmanager
def dripping_portal(
    payload: bytes, *, at_once: int = 0, silent: bool = False
) -> Iterator[tuple[str, Drip]]:
    """A server that sends `payload[:at_once]` at once, then the rest a byte at a time.

    `silent`: it reads the request and sends nothing, until the client hangs up.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    drip = Drip(total=len(payload))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        sent, cut = 0, False
        with conn:
            conn.settimeout(5.0)
            try:
                conn.recv(65536)  # the request
                if silent:
                    cut = conn.recv(1) == b""  # until the client gives up and closes
                if at_once and not silent:
                    conn.sendall(payload[:at_once])
                    sent = at_once
                while not silent and sent < len(payload) and not stop.is_set():
                    time.sleep(DRIP_PAUSE)
                    conn.sendall(payload[sent : sent + 1])
                    sent += 1
            except OSError:  # the client shut the connection: the drip was cut off
                cut = True
        drip.sent.append(sent)
        drip.cut_off.append(cut)

    def accept() -> None:
        workers = []
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except TimeoutError:
                continue
            worker = threading.Thread(target=serve, args=(conn,), daemon=True)
            worker.start()
            workers.append(worker)
        for worker in workers:
            worker.join(10)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/", drip
    finally:
        stop.set()
        acceptor.join(15)
        listener.close()


def wait_until(condition, timeout: float = 10.0) -> None:
    ends = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < ends, "the condition never held"
        time.sleep(0.02)


@pytest.mark.parametrize(
    "where",
    ["status line and headers", "body"],
)
def test_a_dripping_portal_is_cut_off_at_the_deadline(where):
    payload = answer()
    at_once = payload.index(b"\r\n\r\n") + 4 if where == "body" else 0
    sleeps = Sleeps()
    with dripping_portal(payload, at_once=at_once) as (url, drip):
        portal = PortalClient(url, timeout=READ_TIMEOUT, deadline=0.8, sleep=sleeps)
        with portal, pytest.raises(PortalTooSlowError) as info:
            portal.get_challenge(CODE)
        # The client ended the connection itself: the server was cut off mid-answer.
        wait_until(lambda: len(drip.sent) == 1)
        assert drip.cut_off == [True]
        assert at_once <= drip.sent[0] < drip.total
    assert sleeps == []  # past the deadline there is no second try
    assert isinstance(info.value, PortalTimeoutError)  # handled wherever a timeout is
    set_language("en")
    assert info.value.user_message() == (
        "The portal answered too slowly: no complete answer within 0.8 seconds. Try again."
    )


def test_the_deadline_counts_the_retries_too():
    """Tries that each end by their read timeout stop once the call's deadline is spent."""
    sleeps = Sleeps()
    read = 0.3
    short_read = httpx.Timeout(connect=5.0, read=read, write=5.0, pool=5.0)
    many = RetryPolicy(max_tries=10, budget=20.0, first_pause=0.0)
    with dripping_portal(answer(), silent=True) as (url, drip):
        portal = PortalClient(url, timeout=short_read, deadline=1.0, retry=many, sleep=sleeps)
        with portal, pytest.raises(PortalTimeoutError):
            portal.get_challenge(CODE)
        wait_until(lambda: len(drip.sent) == len(sleeps) + 1)
    # Without the deadline, ten tries; each takes at least the read timeout, so at most 1.0 / 0.3.
    assert 2 <= len(drip.sent) <= int(1.0 / read) + 1
    assert drip.sent == [0] * len(drip.sent)


def test_a_whole_answer_in_time_is_not_affected():
    payload = answer()
    with dripping_portal(payload, at_once=len(payload) - 3) as (url, drip):
        with PortalClient(url, timeout=READ_TIMEOUT, deadline=5.0) as portal:
            assert portal.get_challenge(CODE).code == CODE
        wait_until(lambda: len(drip.sent) == 1)
        assert drip.sent == [drip.total]


def test_the_production_deadline_is_at_most_20_seconds():
    assert 0 < DEFAULT_DEADLINE <= 20
    with pytest.raises(ValueError):
        PortalClient("http://127.0.0.1:9/", deadline=20.5)
    with pytest.raises(ValueError):
        PortalClient("http://127.0.0.1:9/", deadline=0)
