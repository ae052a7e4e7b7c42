"""The portal client against the real simulator over loopback HTTP (no signatures here).

Signed exchanges are in tests/sim/test_flow.py; the spec's error codes that
need a signature are in tests/sim/test_signature_errors.py.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.portal_support import Sleeps
from tui import __version__
from tui.core.card_info import Signature
from tui.core.clock import FakeClock
from tui.core.errors import (
    CodeExpiredError,
    CodeNotFoundError,
    ConfigError,
    InsecureURLError,
    InvalidCodeError,
    InvalidRequestError,
    PortalTimeoutError,
    PortalUnreachableError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    UnsafeTextError,
)
from tui.core.portal.client import PortalClient, RetryPolicy
from tui.core.results import Session
from tui.core.settings import Settings
from tui.core.text import LOGIN_TEXT, SignableText, check_signable
from tui.sim.server import RunningPortal, serving
from tui.sim.state import nonce_text

# --- the happy path of reading a challenge ----------------------------------


def test_get_challenge_returns_the_portals_challenge(sim: RunningPortal, client: PortalClient):
    record = sim.new_login()
    challenge = client.get_challenge(record.code)
    assert challenge.code == record.code
    assert challenge.purpose == "login"
    assert challenge.text == LOGIN_TEXT
    assert challenge.nonce == record.nonce and len(challenge.nonce) == 32
    assert challenge.created_at == record.created_at.replace(microsecond=0)
    assert challenge.expires_at == record.expires_at.replace(microsecond=0)
    assert challenge.expires_at.utcoffset() is not None
    assert 295 <= challenge.seconds_left() <= 300


def test_time_left_ignores_a_wrong_local_wall_clock(sim: RunningPortal):
    """The terminal thinks it is 2019; the countdown still comes from the portal's times."""
    clock = FakeClock(wall=datetime(2019, 11, 13, 8, 0, tzinfo=UTC))
    with PortalClient(sim.url, clock=clock) as portal:
        challenge = portal.get_challenge(sim.new_login().code)
    assert 299 <= challenge.seconds_left() <= 300
    clock.advance(155)
    assert 144 <= challenge.seconds_left() <= 145
    clock.advance(200)
    assert challenge.expired() and challenge.seconds_left() == 0


def test_code_must_be_14_ascii_digits_before_any_request():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected, got {request.url}")

    with PortalClient("http://127.0.0.1:9/", transport=httpx.MockTransport(refuse)) as portal:
        for bad in ["", "1234567890123", "123456789012345", "1234567890123a", "١٢٣٤٥٦٧٨٩٠١٢٣٤",
                    "12345678901234\n", " 12345678901234", "1234 5678 9012"]:  # fmt: skip
            with pytest.raises(InvalidCodeError) as info:
                portal.get_challenge(bad)
            assert isinstance(info.value, InvalidRequestError)


# --- spec error codes that need no signature --------------------------------


def test_unknown_code_is_not_found(sim: RunningPortal, client: PortalClient):
    with pytest.raises(CodeNotFoundError) as info:
        client.get_challenge("12345678901234")
    assert info.value.status == 404
    assert "bulunamadı" in info.value.portal_message


def test_malformed_code_is_invalid_request_at_the_portal(sim: RunningPortal):
    """The client never sends one; a client that does gets 400 invalid_request."""
    for bad in ("1234", "1234567890123x", "%D9%A1" * 14):
        response = httpx.get(f"{sim.url}api/v1/challenges/{bad}")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"


def test_expired_code(sim: RunningPortal, sim_clock, client: PortalClient):
    code = sim.new_login().code
    client.get_challenge(code)
    sim_clock.advance(301)
    with pytest.raises(CodeExpiredError) as info:
        client.get_challenge(code)
    assert info.value.status == 410


def test_invalid_request_from_the_portal_maps_to_its_error(sim: RunningPortal, client):
    """An empty CMS is a malformed body: 400 invalid_request."""
    challenge = client.get_challenge(sim.new_login().code)
    empty = Signature(cms=b"", signing_time=datetime.now(UTC), certificate_fingerprint="")
    with pytest.raises(InvalidRequestError) as info:
        client.submit_login(challenge, empty)
    assert info.value.status == 400 and not isinstance(info.value, InvalidCodeError)


def test_wrong_codes_are_rate_limited_with_retry_after(sim, sim_clock, client, sleeps):
    good = sim.new_login().code
    for i in range(sim.state.max_wrong_codes):
        with pytest.raises(CodeNotFoundError):
            client.get_challenge(f"9999999999999{i}")
    with pytest.raises(RateLimitedError) as info:
        client.get_challenge(good)  # even a good code waits now
    assert info.value.status == 429
    assert 1 <= info.value.retry_after <= 60
    assert str(info.value.retry_after) in info.value.user_message()
    assert sleeps == []  # 429 is never retried by the client
    sim_clock.advance(info.value.retry_after + 1)
    assert client.get_challenge(good).code == good


def test_unauthorized_without_a_valid_session(sim: RunningPortal, client: PortalClient):
    with pytest.raises(UnauthorizedError) as info:
        client.start_e_onay(Session("not-a-session"))
    assert info.value.status == 401
    with pytest.raises(UnauthorizedError):
        client.e_onay_status(Session("not-a-session"))
    for headers in ({}, {"Authorization": "Basic eDp5"}, {"Authorization": "Bearer"}):
        response = httpx.post(f"{sim.url}api/v1/e-onay", json={}, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


# --- faults -------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_get_is_retried_after_5xx_and_succeeds(sim, client, sleeps: Sleeps, status):
    code = sim.new_login().code
    sim.faults.fail_next(2, status)
    assert client.get_challenge(code).code == code
    assert sleeps == [0.5, 1.0]
    assert sim.faults.fail_count == 0


def test_get_gives_up_after_three_tries(sim, client, sleeps: Sleeps):
    code = sim.new_login().code
    sim.faults.fail_next(4, 503)
    with pytest.raises(ServerError) as info:
        client.get_challenge(code)
    assert info.value.status == 503
    assert len(sleeps) == 2
    assert sim.faults.fail_count == 1  # exactly three requests reached the portal


def test_retries_stop_when_the_time_budget_is_spent(sim):
    """No new try once 10 s would be exceeded, even with tries left."""
    clock = FakeClock()
    retry = RetryPolicy(max_tries=3, budget=10.0, first_pause=6.0)
    with PortalClient(sim.url, clock=clock, sleep=clock.advance, retry=retry) as portal:
        sim.faults.fail_next(3, 500)
        with pytest.raises(ServerError):
            portal.get_challenge(sim.new_login().code)
    assert sim.faults.fail_count == 1  # two tries: 6 s + 12 s would pass the 10 s budget


def test_latency_past_the_read_timeout_is_a_timeout_error(sim, sleeps: Sleeps):
    code = sim.new_login().code
    sim.faults.latency = 1.5  # far past the read timeout, even if the client is slow to listen
    short = httpx.Timeout(connect=5.0, read=0.3, write=5.0, pool=5.0)
    with PortalClient(sim.url, timeout=short, sleep=sleeps) as portal:
        with pytest.raises(PortalTimeoutError) as info:
            portal.get_challenge(code)
        assert "in time" in info.value.user_message()
        assert len(sleeps) == 2  # a GET is retried on a timeout
    sim.faults.latency = 0.3
    with PortalClient(sim.url, sleep=sleeps) as portal:  # the real 15 s read timeout
        assert portal.get_challenge(code).code == code  # slow but within the timeout


@pytest.mark.parametrize(
    ("switch", "message"),
    [
        (lambda f: f.malformed_json_next(1), "not valid JSON"),
        (lambda f: f.wrong_content_type_next(1), "Content-Type"),
        (lambda f: f.oversized_next(1), "64 KiB"),
        (lambda f: f.oversized_next(1, chunked=True), "64 KiB"),
    ],
    ids=["malformed-json", "wrong-content-type", "oversized", "oversized-chunked"],
)
def test_broken_answers_are_protocol_errors_and_not_retried(sim, client, sleeps, switch, message):
    code = sim.new_login().code
    switch(sim.faults)
    with pytest.raises(ProtocolError) as info:
        client.get_challenge(code)
    assert message in str(info.value)
    assert info.value.user_message() == ProtocolError().user_message()
    assert sleeps == []
    assert client.get_challenge(code).code == code  # the fault was for one answer only


@pytest.mark.parametrize("kind", ["bidi", "control", "ansi", "zero_width", "markup"])
def test_hostile_text_is_refused_as_the_challenge_arrives(sim, client, kind):
    """The signable-text rule runs once, as the challenge is read: no Challenge is made of it."""
    sim.faults.set_hostile_text(kind)
    code = sim.new_login().code
    with pytest.raises(UnsafeTextError) as info:
        client.get_challenge(code)
    with pytest.raises(UnsafeTextError) as direct:
        check_signable(sim.faults.text_for())
    assert info.value.reason == direct.value.reason  # the same rule, on the text as sent


def test_the_scripts_the_settings_allow_reach_the_check_on_arrival(sim):
    """`[text] scripts` reaches the one check through the settings, not a process-wide switch."""
    text = "Καλημέρα κόσμε, onaylıyorum."
    code = sim.state.new_challenge("login", text=text).code
    with PortalClient(sim.url) as latin_only, pytest.raises(UnsafeTextError):
        latin_only.get_challenge(code)
    settings = Settings(portal_url=sim.url, text_scripts=("Greek",))
    with PortalClient.from_settings(settings) as portal:
        challenge = portal.get_challenge(code)
    assert isinstance(challenge.text, SignableText) and challenge.text == text


def test_unreachable_portal_is_retried_then_reported(sleeps: Sleeps):
    with serving(Starlette()) as url:
        pass  # the port is free again: nothing listens there now
    with PortalClient(url, sleep=sleeps) as portal, pytest.raises(PortalUnreachableError) as info:
        portal.get_challenge("12345678901234")
    assert not isinstance(info.value, PortalTimeoutError)
    assert len(sleeps) == 2


# --- HTTP hygiene, against small real servers ---------------------------------


def _challenge_json(code: str) -> dict[str, str]:
    return {
        "code": code,
        "purpose": "login",
        "text": LOGIN_TEXT,
        "nonce": nonce_text(bytes(range(32))),
        "created_at": "2019-11-13T11:27:22+03:00",
        "expires_at": "2019-11-13T11:32:22+03:00",
        "server_time": "2019-11-13T11:27:38+03:00",
    }


def test_user_agent_accept_and_no_session_in_url():
    seen: list[httpx.Headers] = []

    async def echo(request: Request) -> Response:
        seen.append(httpx.Headers(request.headers.raw))
        return JSONResponse(_challenge_json(request.path_params["code"]))

    app = Starlette(routes=[Route("/api/v1/challenges/{code}", echo)])
    with serving(app) as url, PortalClient(url) as portal:
        challenge = portal.get_challenge("49586779463734")
    assert challenge.seconds_left() == pytest.approx(284, abs=1)  # 11:32:22 - 11:27:38
    assert seen[0]["user-agent"] == f"eonay/{__version__}"
    assert seen[0]["accept"] == "application/json"


@pytest.mark.parametrize(
    ("expires_at", "accepted"),
    [
        ("2019-11-13T11:42:38+03:00", True),  # exactly 15 minutes after server_time
        ("2019-11-13T11:42:39+03:00", False),  # one second more
        ("2019-11-13T09:42:39+01:00", False),  # the same moment, in another offset
        ("2019-11-14T11:27:38+03:00", False),  # a day
        ("2119-11-13T11:27:38+03:00", False),  # a century
    ],
)
def test_a_challenge_living_over_15_minutes_is_a_protocol_error(expires_at, accepted):
    """The spec: more than 15 minutes between server_time and expires_at is malformed."""

    async def answer(request: Request) -> Response:
        body = _challenge_json(request.path_params["code"])
        body["expires_at"] = expires_at  # server_time is 11:27:38+03:00
        return JSONResponse(body)

    app = Starlette(routes=[Route("/api/v1/challenges/{code}", answer)])
    with serving(app) as url, PortalClient(url) as portal:
        if accepted:
            assert portal.get_challenge("49586779463734").seconds_left() == pytest.approx(
                900, abs=1
            )
        else:
            with pytest.raises(ProtocolError, match="more than 15 minutes"):
                portal.get_challenge("49586779463734")


def test_redirects_followed_only_on_the_same_host():
    with serving(Starlette()) as other:  # any other origin
        pass

    async def moved(request: Request) -> Response:
        code = request.path_params["code"]
        if code == "11111111111111":
            return RedirectResponse(f"/v2/challenges/{code}", 307)
        return RedirectResponse(f"{other}api/v1/challenges/{code}", 302)

    async def target(request: Request) -> Response:
        return JSONResponse(_challenge_json(request.path_params["code"]))

    app = Starlette(
        routes=[
            Route("/api/v1/challenges/{code}", moved),
            Route("/v2/challenges/{code}", target),
        ]
    )
    with serving(app) as url, PortalClient(url) as portal:
        assert portal.get_challenge("11111111111111").code == "11111111111111"
        with pytest.raises(ProtocolError, match="another host"):
            portal.get_challenge("22222222222222")


def test_signature_post_never_follows_a_redirect():
    posts: list[str] = []

    async def moved(request: Request) -> Response:
        posts.append(request.url.path)
        return RedirectResponse("/elsewhere", 307)

    app = Starlette(routes=[Route("/api/v1/challenges/{code}/signature", moved, methods=["POST"])])
    clock = FakeClock()
    from tui.core.portal.wire import parse_challenge

    challenge = parse_challenge(_challenge_json("33333333333333"), clock=clock)
    signature = Signature(cms=b"x", signing_time=clock.now(), certificate_fingerprint="")
    with (
        serving(app) as url,
        PortalClient(url) as portal,
        pytest.raises(ProtocolError, match="redirect"),
    ):
        portal.submit_login(challenge, signature)
    assert posts == ["/api/v1/challenges/33333333333333/signature"]


@pytest.mark.parametrize(
    "url",
    [
        "http://portal.example/",
        "http://10.0.0.1/",
        "http://[2001:db8::1]/",
        "http://127.0.0.1.evil/",
    ],
)
def test_plain_http_is_refused_beyond_loopback(url):
    with pytest.raises(InsecureURLError):
        PortalClient(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/", "http://localhost/", "http://[::1]/x"])
def test_plain_http_is_allowed_on_loopback(url):
    PortalClient(url).close()


@pytest.mark.parametrize(
    "url",
    ["ftp://portal.example/", "https://user:pw@portal.example/", "https://p.example/?a=1", "x"],
)
def test_odd_portal_urls_are_configuration_errors(url):
    with pytest.raises(ConfigError):
        PortalClient(url)


def test_base_url_path_is_kept():
    seen: list[str] = []

    async def record(request: Request) -> Response:
        seen.append(request.url.path)
        return JSONResponse(_challenge_json(request.path_params["code"]))

    app = Starlette(routes=[Route("/portal/api/v1/challenges/{code}", record)])
    with serving(app) as url, PortalClient(url + "portal") as portal:
        portal.get_challenge("44444444444444")
    assert seen == ["/portal/api/v1/challenges/44444444444444"]


def test_session_token_is_in_no_repr_or_log(sim: RunningPortal, client, caplog):
    token = "s3cr3t-session-token-value"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(UnauthorizedError) as info:
        client.start_e_onay(Session(token))
    assert token not in repr(Session(token))
    assert token not in str(info.value) and token not in repr(info.value)
    assert token not in caplog.text
    assert token not in repr(client)


def test_client_from_settings(sim: RunningPortal, tmp_path):
    from tui.core.settings import Settings

    with PortalClient.from_settings(Settings(portal_url=sim.url)) as portal:
        assert portal.get_challenge(sim.new_login().code).purpose == "login"
    with pytest.raises(ConfigError):
        PortalClient.from_settings(Settings())
    with pytest.raises(ConfigError):
        PortalClient.from_settings(Settings(portal_url=sim.url, ca_bundle=tmp_path / "none.pem"))
