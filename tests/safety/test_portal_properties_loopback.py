"""Any answer, over a real socket: the client returns a valid model or one of its typed errors.

tests/core/test_portal_properties.py throws arbitrary answers at the client
through httpx's MockTransport. This runs the same kinds of answers through the
client's real transport: a TCP server on 127.0.0.1 writes whatever bytes the
example holds (a status line, headers, a body, or a connection closed early),
so httpx's own HTTP parsing is in the path too. 2,000 examples.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.core.test_portal_properties import (
    CALLS,
    assert_valid,
    bodies,
    content_types,
    header_text,
    near_valid,
    statuses,
)
from tui.core.clock import FakeClock
from tui.core.errors import PortalError, UnsafeTextError
from tui.core.portal.client import PortalClient


class Script:
    """The raw bytes the server writes for the next request(s); b"" closes at once."""

    def __init__(self) -> None:
        self.raw = b""
        self.requests = 0


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        self.server.script.requests += 1
        with contextlib.suppress(OSError):  # the client may have given up first
            if self.server.script.raw:
                conn.sendall(self.server.script.raw)
            conn.shutdown(socket.SHUT_RDWR)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up mid-answer is part of the test, not news."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = Script()


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def client(server: _Server) -> Iterator[PortalClient]:
    clock = FakeClock()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    with PortalClient(url, clock=clock, sleep=clock.advance) as portal:
        yield portal


reasons = st.sampled_from([b"OK", b"", b"Whatever", b"\xc3\xa7"])


@st.composite
def raw_answers(draw: st.DrawFn, method: str) -> bytes:
    """The bytes of an HTTP/1.1 answer (a third of them close to the spec), or a broken one."""
    shape = draw(st.integers(0, 19))
    if shape == 0:
        return b""  # closed without a word
    if shape == 1:
        return draw(st.binary(min_size=1, max_size=64))  # not HTTP at all
    if draw(st.integers(0, 2)) == 0:
        status = draw(st.sampled_from([200, 201]) | statuses)
        content_type = draw(st.just("application/json") | content_types)
        body = json.dumps(draw(near_valid(method)), ensure_ascii=draw(st.booleans())).encode()
        headers = [f"Content-Type: {content_type}"]
    else:
        status = draw(statuses)
        body = draw(bodies)
        headers = []
        content_type = draw(st.none() | content_types)
        if content_type is not None:
            headers.append(f"Content-Type: {content_type}")
        if draw(st.booleans()):
            headers.append(f"Retry-After: {draw(st.integers(0, 10**12).map(str) | header_text)}")
        if draw(st.integers(0, 9)) == 0:
            where = draw(st.sampled_from(["/elsewhere", "http://evil.example/x"]) | header_text)
            headers.append(f"Location: {where}")
    length = draw(st.sampled_from(["exact"] * 8 + ["none"] * 2 + ["short", "long", "junk"]))
    if length == "exact":
        headers.append(f"Content-Length: {len(body)}")
    elif length == "short":
        headers.append(f"Content-Length: {max(0, len(body) - 3)}")
    elif length == "long":
        headers.append(f"Content-Length: {len(body) + 10}")
    elif length == "junk":
        headers.append(f"Content-Length: {draw(header_text)}")
    headers.append("Connection: close")
    head = f"HTTP/1.1 {status} ".encode() + draw(reasons) + b"\r\n"
    head += "".join(h + "\r\n" for h in headers).encode("latin-1", "replace") + b"\r\n"
    cut = draw(st.integers(0, 29)) == 0  # the connection drops halfway through the body
    return head + (body[: len(body) // 2] if cut else body)


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), method=st.sampled_from(sorted(CALLS)))
def test_any_bytes_from_a_real_socket_give_a_valid_model_or_a_portal_error(
    server: _Server, client: PortalClient, data, method
):
    server.script.raw = data.draw(raw_answers(method))
    try:
        result = CALLS[method](client)
    except PortalError as exc:
        event(f"{method}: {type(exc).__name__}")
        return
    except UnsafeTextError:  # the signable-text rule, run as a challenge's text arrives
        assert method in ("get", "start")
        event(f"{method}: UnsafeTextError")
        return
    event(f"{method}: {type(result).__name__}")
    assert_valid(result, method)
