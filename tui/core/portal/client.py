"""The portal client: the portal API (portal-api.md, version 1) over httpx, typed results.

`PortalClient` implements `tui.core.services.PortalService`. Every answer is
validated by `portal_wire`; every failure is one of the `PortalError`s of
`tui.core.errors`, never an httpx exception, a KeyError or a crash.

Safety decisions, in one place:

* TLS is verified (the system's default bundle, or `ca_bundle` instead of it);
  plain `http://` is refused unless the host is a loopback address.
* Timeouts: connect 5 s, read 15 s, and a deadline of 20 s for the whole
  call, every try and pause included: a portal that drips a byte every few
  seconds keeps each read inside its timeout, so when the deadline passes the
  connection is shut down under the read (`_Cutoff`) and the person reads
  `PortalTooSlowError`. Each request has a connection of its own (no
  keep-alive), so there is always a socket to shut down; between a person's
  steps a kept-alive connection would have expired anyway. Bodies over 64 KiB
  are refused while streaming (Content-Length is checked too, but not trusted
  alone).
* Redirects are followed only for GETs and only to the same scheme, host and
  port; anything else is a protocol error, so a signature or a session token
  never travels to another host.
* Retries (at most 3 tries, and no new try once 10 s have gone by), on a
  dropped or refused connection, a timeout, or a 5xx:
  - GETs: reading is safe to repeat.
  - the signature POST: the API makes it idempotent (the same CMS gets the
    same 200), so the *same* CMS is posted again. A lost answer never costs
    the user a new PIN entry; callers may also call `submit_*` again with the
    same `Signature` after an error.
  - `POST /e-onay` (start): also retried. A lost 201 leaves only an unanswered
    challenge on the portal, which expires by itself; E-Onay becomes active
    only when a signature is accepted, which cannot happen without the user
    signing, so a retry can never meet `already_active` because of the lost
    answer, and it never activates anything by itself.
  - never: TLS failures, 4xx answers (429 included: the user must wait), or
    answers that break the protocol.
* The session token is only ever in a `Session` object in memory and in the
  Authorization header; it is in no message, log line or repr.
* `trust_env` is off: no proxy, .netrc or SSL_CERT_FILE from the environment
  changes where a signature goes or which certificates are trusted.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

from tui import __version__
from tui.core.card_info import Signature
from tui.core.challenge import Challenge, Purpose
from tui.core.clock import Clock, SystemClock
from tui.core.errors import (
    ConfigError,
    InsecureURLError,
    InvalidCodeError,
    PortalError,
    PortalTimeoutError,
    PortalTooSlowError,
    PortalUnreachableError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    TLSError,
)
from tui.core.portal.address import AddressProblem, address_problem
from tui.core.portal.httpx_without_cli import httpx
from tui.core.portal.wire import (
    check_json_content_type,
    decode_json,
    error_for,
    error_from_body,
    is_valid_code,
    parse_challenge,
    parse_e_onay,
    parse_login,
    parse_retry_after,
    parse_status,
)
from tui.core.results import EOnayAccepted, EOnayStatus, LoginAccepted, Session
from tui.core.settings import Settings

log = logging.getLogger("eonay.portal")

USER_AGENT: Final = f"eonay/{__version__}"
MAX_BODY_BYTES: Final = 64 * 1024
MAX_REDIRECTS: Final = 3
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0)
DEFAULT_DEADLINE: Final = 20.0
"""Seconds one API call may take in all, every try, pause and redirect included."""
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_SUCCESS: Final = frozenset({200, 201})


@dataclass(frozen=True)
class RetryPolicy:
    """At most `max_tries` tries; no new try starts once `budget` seconds would be exceeded."""

    max_tries: int = 3
    budget: float = 10.0
    first_pause: float = 0.5  # doubles after each try

    def pauses(self) -> Iterator[float]:
        pause = self.first_pause
        for _ in range(self.max_tries - 1):
            yield pause
            pause *= 2


def check_base_url(url: str) -> httpx.URL:
    """The portal's base URL, normalised to end with `/`; the rule is `tui.core.portal.address`'s.

    The app checks the same rule at start-up (`tui.core.setup.settings_check`), before a
    code is typed; here it is kept for every other way a client is made.
    """
    problem = address_problem(url) if isinstance(url, str) else AddressProblem.NOT_A_URL
    if problem is AddressProblem.PLAIN_HTTP:
        host = urlsplit(url).hostname
        raise InsecureURLError(f"plain http:// refused for non-loopback host {host}")
    if problem is not None:
        raise ConfigError(_ADDRESS_PROBLEMS[problem], key="portal_url")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigError(f"the portal URL is not a URL: {exc}", key="portal_url") from None
    if not parsed.host:
        raise ConfigError(_ADDRESS_PROBLEMS[AddressProblem.SCHEME_OR_HOST], key="portal_url")
    path = parsed.path if parsed.path.endswith("/") else parsed.path + "/"
    return parsed.copy_with(path=path)


_ADDRESS_PROBLEMS: Final = {
    AddressProblem.NOT_A_URL: "the portal URL is not a URL",
    AddressProblem.SCHEME_OR_HOST: "the portal URL must be https://host/...",
    AddressProblem.USERINFO: "the portal URL must not contain a user name or password",
    AddressProblem.QUERY_OR_FRAGMENT: "the portal URL must not have a query or a fragment",
}


def _tls_context(ca_bundle: Path | str | None, scheme: str) -> ssl.SSLContext | bool:
    if ca_bundle is None and scheme == "http":
        # Plain http (loopback only, see check_base_url) has no TLS to verify:
        # skip loading a CA bundle (3 MiB, 40 ms). The context trusts nothing,
        # so TLS through it would fail closed (redirects never change scheme).
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_bundle is None:
        return True  # httpx's default: certificates verified against its bundle
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load the CA bundle {ca_bundle}: {exc}", key="ca_bundle", path=str(ca_bundle)
        ) from None


def _caused_by_tls(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError | ssl.CertificateError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _transport_error(exc: httpx.HTTPError, what: str) -> PortalError:
    """An httpx failure as the error a person can act on."""
    if isinstance(exc, httpx.ConnectError) and _caused_by_tls(exc):
        return TLSError(f"{what}: TLS failed: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return PortalTimeoutError(f"{what}: no answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        return PortalUnreachableError(f"{what}: cannot connect: {exc}")
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return PortalUnreachableError(f"{what}: connection dropped: {exc}")
    if isinstance(exc, httpx.DecodingError):
        return ProtocolError(f"{what}: the answer could not be decoded: {exc}")
    return ProtocolError(f"{what}: {type(exc).__name__}: {exc}")


_RETRYABLE: Final = (PortalUnreachableError, ServerError)  # PortalTimeoutError included

_CONNECTED: Final = frozenset({"connection.connect_tcp.complete", "connection.start_tls.complete"})


class _Cutoff:
    """Shuts down one request's connection when the call's deadline passes.

    Read timeouts count from the last byte, so a drip never trips them; the
    socket comes from httpcore's `trace` extension as the connection is made,
    and a shutdown wakes the read that waits on it (in the caller's thread).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.fired = False

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event not in _CONNECTED:
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.append(sock)
            if self.fired:
                self._shut(sock)

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed: nothing left to end
            sock.shutdown(socket.SHUT_RDWR)


class PortalClient:
    """Talks to one portal. Blocking; call it from a worker thread.

    `transport` replaces the network (tests wrap or mock the boundary);
    `sleep` is how the client waits between retries (tests pass a fake);
    `clock` anchors challenge deadlines and measures the retry budget;
    `deadline` is the seconds one call may take in all (at most 20);
    `text_scripts`: the scripts a challenge's text may use besides Latin (from the settings).
    """

    def __init__(
        self,
        base_url: str,
        *,
        ca_bundle: Path | str | None = None,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float = DEFAULT_DEADLINE,
        text_scripts: Sequence[str] = (),
    ) -> None:
        if not 0 < deadline <= DEFAULT_DEADLINE:
            raise ValueError(f"the deadline is more than 0 and at most {DEFAULT_DEADLINE:g} s")
        self._base = check_base_url(base_url)
        self._clock: Clock = clock or SystemClock()
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._deadline = deadline
        self._scripts = tuple(text_scripts)  # a challenge's text may use these besides Latin
        self._http = httpx.Client(
            verify=_tls_context(ca_bundle, self._base.scheme),
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_keepalive_connections=0),  # a socket per request: see _Cutoff
            follow_redirects=False,
            trust_env=False,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Accept-Encoding": "identity",
            },
        )

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> PortalClient:
        """The client the app runs with: `portal_url` and `ca_bundle` from the settings."""
        if not settings.portal_url:
            raise ConfigError("no portal URL is configured", key="portal_url")
        return cls(
            settings.portal_url,
            ca_bundle=settings.ca_bundle,
            text_scripts=settings.text_scripts,
            **options,
        )

    def __repr__(self) -> str:
        return f"PortalClient({str(self._base)!r})"

    @property
    def base_url(self) -> str:
        return str(self._base)

    # --- the API ----------------------------------------------------------

    def get_challenge(self, code: str) -> Challenge:
        """`GET /api/v1/challenges/{code}`; the code is checked before any request."""
        if not is_valid_code(code):
            raise InvalidCodeError("a verification code is exactly 14 digits")
        data = self._call("GET", f"api/v1/challenges/{code}")
        return parse_challenge(data, clock=self._clock, code=code, scripts=self._scripts)

    def submit_login(self, challenge: Challenge, signature: Signature) -> LoginAccepted:
        """Post the signature of a `login` challenge; returns the session and the holder."""
        return parse_login(self._submit(challenge, signature, "login"))

    def start_e_onay(self, session: Session) -> Challenge:
        """`POST /api/v1/e-onay` ("E-ONAY İşlemleri", "Devam Et"): a new `e-onay` challenge."""
        data = self._call("POST", "api/v1/e-onay", body={}, session=session)
        return parse_challenge(data, clock=self._clock, purpose="e-onay", scripts=self._scripts)

    def submit_e_onay(self, challenge: Challenge, signature: Signature) -> EOnayAccepted:
        """Post the signature of an `e-onay` challenge; returns the receipt."""
        return parse_e_onay(self._submit(challenge, signature, "e-onay"))

    def e_onay_status(self, session: Session) -> EOnayStatus:
        """`GET /api/v1/e-onay`: whether E-Onay is active for the logged-in holder."""
        return parse_status(self._call("GET", "api/v1/e-onay", session=session))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PortalClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------

    def _submit(self, challenge: Challenge, signature: Signature, purpose: Purpose) -> object:
        if challenge.purpose != purpose:
            raise ValueError(f"a {challenge.purpose} challenge cannot be submitted as {purpose}")
        if not is_valid_code(challenge.code):
            raise InvalidCodeError("a verification code is exactly 14 digits")
        cms = base64.b64encode(signature.cms).decode("ascii")
        path = f"api/v1/challenges/{challenge.code}/signature"
        return self._call("POST", path, body={"cms": cms})

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, str] | None = None,
        session: Session | None = None,
    ) -> object:
        """One API call with the retry policy of the module docstring; returns the JSON."""
        started = self._clock.monotonic()
        ends = started + self._deadline
        pauses = self._retry.pauses()
        tries = 0
        while True:
            tries += 1
            try:
                return self._exchange(method, path, body, session, ends)
            except _RETRYABLE as exc:
                pause = next(pauses, None)
                elapsed = self._clock.monotonic() - started
                if (
                    pause is None
                    or isinstance(exc, PortalTooSlowError)
                    or elapsed + pause > self._retry.budget
                    or elapsed + pause >= self._deadline
                ):
                    log.info("%s /%s failed after %d tries: %s", method, path, tries, exc.code)
                    raise
                log.info("%s /%s: %s; trying again in %.1f s", method, path, exc.code, pause)
                self._sleep(pause)

    def _exchange(
        self,
        method: str,
        path: str,
        body: dict[str, str] | None,
        session: Session | None,
        ends: float,
    ) -> object:
        """One request (plus same-origin GET redirects) and its validated JSON, before `ends`."""
        url = self._base.copy_with(path=self._base.path + path)
        headers = {}
        content = None
        if session is not None:
            headers["Authorization"] = f"Bearer {session.token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body).encode("utf-8")
        what = f"{method} /{path}"
        for _ in range(MAX_REDIRECTS + 1):
            started = time.monotonic()
            left = ends - self._clock.monotonic()
            if left <= 0:
                raise PortalTooSlowError(f"{what}: {self._deadline:g} s passed", self._deadline)
            cutoff = _Cutoff()
            timer = threading.Timer(left, cutoff.fire)
            timer.daemon = True
            timer.start()
            try:
                request = self._http.build_request(
                    method,
                    url,
                    headers=headers,
                    content=content,
                    extensions={"trace": cutoff.trace},
                )
                response = self._http.send(request, stream=True)
                try:
                    raw = self._read_limited(response, what, cutoff)
                finally:
                    response.close()
            except httpx.HTTPError as exc:
                if cutoff.fired:
                    raise PortalTooSlowError(
                        f"{what}: no complete answer within {self._deadline:g} s", self._deadline
                    ) from None
                raise _transport_error(exc, what) from None
            finally:
                timer.cancel()
            log.debug(
                "%s -> %d (%d bytes, %.2f s)",
                what,
                response.status_code,
                len(raw),
                time.monotonic() - started,
            )
            if response.status_code in _REDIRECTS:
                url = self._redirect_target(method, url, response, what)
                continue
            return self._interpret(response, raw, what)
        raise ProtocolError(f"{what}: more than {MAX_REDIRECTS} redirects")

    def _redirect_target(
        self, method: str, url: httpx.URL, response: httpx.Response, what: str
    ) -> httpx.URL:
        location = response.headers.get("location")
        if method != "GET" or not location:
            raise ProtocolError(f"{what}: the portal answered a redirect", response.status_code)
        try:
            target = url.join(location)
        except (httpx.InvalidURL, ValueError):
            raise ProtocolError(f"{what}: the portal redirected to an invalid URL") from None
        if (target.scheme, target.host, target.port) != (url.scheme, url.host, url.port):
            raise ProtocolError(
                f"{what}: the portal redirected to another host; not followed", response.status_code
            )
        return target

    def _read_limited(self, response: httpx.Response, what: str, cutoff: _Cutoff) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                raise ProtocolError(f"{what}: the answer has an invalid Content-Length")
            if int(declared) > MAX_BODY_BYTES:
                raise ProtocolError(f"{what}: the answer is larger than 64 KiB; refused")
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_bytes():
            if cutoff.fired:  # a transport without a socket to shut down (tests)
                raise PortalTooSlowError(
                    f"{what}: no complete answer within {self._deadline:g} s", self._deadline
                )
            total += len(chunk)
            if total > MAX_BODY_BYTES:
                raise ProtocolError(f"{what}: the answer is larger than 64 KiB; refused")
            chunks.append(chunk)
        return b"".join(chunks)

    def _interpret(self, response: httpx.Response, raw: bytes, what: str) -> object:
        status = response.status_code
        if status in _SUCCESS:
            try:
                check_json_content_type(response.headers.get("content-type"))
                return decode_json(raw)
            except ProtocolError as exc:
                raise ProtocolError(f"{what}: {exc}", status) from None
        retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock.now())
        try:
            check_json_content_type(response.headers.get("content-type"))
            code, message = error_from_body(decode_json(raw))
        except ProtocolError as exc:
            if 500 <= status <= 599:
                raise ServerError(f"{what}: HTTP {status}", status) from None
            if status == 429:
                raise RateLimitedError(f"{what}: HTTP 429", status, retry_after) from None
            raise ProtocolError(
                f"{what}: HTTP {status} without an error the API defines ({exc})", status
            ) from None
        if 500 <= status <= 599:
            raise ServerError(f"{what}: HTTP {status}: {message}", status)
        if status == 429:
            raise RateLimitedError(message, status, retry_after)
        if 400 <= status <= 499:
            raise error_for(status, code, message, retry_after)
        raise ProtocolError(f"{what}: unexpected HTTP status {status}", status)
