"""Property tests: whatever a portal answers, the client returns a valid model or a PortalError
(or, for a challenge whose text cannot be signed, the text rule's UnsafeTextError).

These are the only portal tests on `httpx.MockTransport` (no network): they
throw thousands of arbitrary answers (status codes, headers, bodies, broken
connections) at the real client and check that nothing but a well-formed
result or one of its typed errors ever comes out. Everything else runs on
real loopback HTTP.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tui.core.card_info import Signature
from tui.core.challenge import Challenge
from tui.core.clock import FakeClock
from tui.core.errors import InvalidCodeError, PortalError, ServerError, UnsafeTextError
from tui.core.portal.client import PortalClient
from tui.core.portal.wire import ERROR_CLASSES, parse_challenge
from tui.core.results import EOnayAccepted, EOnayStatus, LoginAccepted, Session
from tui.core.text import LOGIN_TEXT, SignableText, check_signable

MANY = settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SOME = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CODE = "49586779463734"

# --- strategies ------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat()


times = st.one_of(
    moments.map(rfc3339),
    moments.map(lambda m: m.isoformat().replace("+00:00", "Z")),
    st.from_regex(
        r"\A\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,12})?([Zz]|[+-]\d{2}:\d{2})?\Z"
    ),
    st.text(max_size=40),
    json_values,
)
nonces = st.one_of(
    st.binary(min_size=32, max_size=32).map(
        lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    ),
    st.binary(max_size=48).map(lambda b: base64.urlsafe_b64encode(b).decode()),
    st.binary(max_size=48).map(lambda b: base64.b64encode(b).decode()),
    st.from_regex(r"\A[A-Za-z0-9_=+/-]{40,46}\Z"),
    json_values,
)
codes = st.one_of(st.just(CODE), st.from_regex(r"\A[0-9]{14}\Z"), st.text(max_size=20), json_values)
texts = st.one_of(
    st.text(max_size=80),
    st.just("x" * 2000),
    st.just("x" * 2001),
    st.just("ç" * 2000),
    json_values,
)
short_strings = st.one_of(st.text(max_size=40), st.just("x" * 300), json_values)


def object_of(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with any subset of `fields`, plus occasional unknown keys."""
    return st.builds(
        lambda known, extra: {**extra, **known},
        st.fixed_dictionaries({}, optional=fields),
        st.dictionaries(st.text(max_size=8), json_values, max_size=2),
    )


challenge_objects = object_of(
    {
        "code": codes,
        "purpose": st.sampled_from(["login", "e-onay"]) | json_values,
        "text": texts,
        "nonce": nonces,
        "created_at": times,
        "expires_at": times,
        "server_time": times,
    }
)
holders = object_of({"name": short_strings, "serial": short_strings}) | json_values
login_objects = object_of(
    {
        "status": st.sampled_from(["accepted", "rejected"]) | json_values,
        "purpose": st.sampled_from(["login", "e-onay"]) | json_values,
        "session": st.from_regex(r"\A[\x21-\x7e]{1,40}\Z") | short_strings,
        "holder": holders,
        "e_onay": st.sampled_from(["active", "inactive", "unknown"]) | json_values,
    }
)
e_onay_objects = object_of(
    {
        "status": st.sampled_from(["accepted"]) | json_values,
        "purpose": st.sampled_from(["login", "e-onay"]) | json_values,
        "e_onay": st.sampled_from(["active", "inactive"]) | json_values,
        "reference": short_strings,
        "activated_at": times,
    }
)
status_objects = object_of(
    {
        "e_onay": st.sampled_from(["active", "inactive"]) | json_values,
        "activated_at": st.none() | times,
        "reference": st.none() | short_strings,
    }
)
error_objects = st.one_of(
    st.builds(
        lambda code, message: {"error": {"code": code, "message": message}},
        st.sampled_from(sorted(ERROR_CLASSES)) | st.text(max_size=20),
        st.text(max_size=60) | json_values,
    ),
    object_of({"error": object_of({"code": short_strings, "message": short_strings})}),
)
bodies = st.one_of(
    st.one_of(
        challenge_objects, login_objects, e_onay_objects, status_objects, error_objects, json_values
    ).map(lambda obj: json.dumps(obj).encode()),
    st.one_of(challenge_objects, login_objects).map(
        lambda obj: json.dumps(obj, ensure_ascii=False).encode("utf-8")
    ),
    st.binary(max_size=200),
    st.just(b"[" * 100_000),  # deep nesting
    st.just(b'{"code": "1", "code": "2"}'),  # duplicate keys
    st.just(b'{"a": NaN}'),
    st.just(b"1" * 5000),  # an integer too long to convert
    st.just(b"\xef\xbb\xbf{}"),  # a BOM
    st.just(b"{" + b" " * 70_000 + b"}"),  # over 64 KiB
)
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=UTF-8",
            "application/json; charset=latin-1",
            "text/html; charset=utf-8",
            "application/problem+json",
            "",
        ]
    ),
    header_text,
)
statuses = st.one_of(
    st.sampled_from(
        [200, 200, 200, 201, 204, 301, 302, 307, 400, 401, 404, 409, 410, 422, 429, 500, 503]
    ),
    st.integers(min_value=100, max_value=599),
)
transport_failures = st.sampled_from(
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow connect"),
        httpx.ReadTimeout("slow read"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.WriteError("broken pipe"),
        httpx.DecodingError("bad gzip"),
    ]
)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@st.composite
def good_challenges(draw: st.DrawFn, purpose: str | None = None) -> dict[str, Any]:
    created = draw(moments).replace(microsecond=0)
    ttl = draw(st.integers(1, 3600))
    elapsed = draw(st.integers(max(0, ttl - 900), ttl - 1))  # at most 15 minutes left
    try:
        expires = created + timedelta(seconds=ttl)
        server_time = created + timedelta(seconds=elapsed)
        expires.astimezone(UTC)
        created.astimezone(UTC)
    except OverflowError:
        assume(False)
    return {
        "code": CODE if purpose is None else draw(st.from_regex(r"\A[0-9]{14}\Z")),
        "purpose": purpose or draw(st.sampled_from(["login", "e-onay"])),
        "text": draw(st.text(min_size=1, max_size=200)),
        "nonce": b64url(draw(st.binary(min_size=32, max_size=32))),
        "created_at": created.isoformat(),
        "expires_at": expires.isoformat(),
        "server_time": server_time.isoformat(),
    }


good_logins = st.fixed_dictionaries(
    {
        "status": st.just("accepted"),
        "purpose": st.just("login"),
        "session": st.from_regex(r"\A[\x21-\x7e]{1,60}\Z"),
        "holder": st.fixed_dictionaries(
            {"name": st.text(min_size=1, max_size=40), "serial": st.text(min_size=1, max_size=20)}
        ),
        "e_onay": st.sampled_from(["active", "inactive"]),
    }
)
good_e_onays = st.fixed_dictionaries(
    {
        "status": st.just("accepted"),
        "purpose": st.just("e-onay"),
        "e_onay": st.just("active"),
        "reference": st.text(min_size=1, max_size=40),
        "activated_at": moments.map(rfc3339),
    }
)
good_statuses = st.fixed_dictionaries(
    {
        "e_onay": st.sampled_from(["active", "inactive"]),
        "activated_at": st.none() | moments.map(rfc3339),
        "reference": st.none() | st.text(min_size=1, max_size=40),
    }
)
GOOD: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "get": good_challenges(),
    "start": good_challenges("e-onay"),
    "login": good_logins,
    "e_onay": good_e_onays,
    "status": good_statuses,
}
junk_values = st.one_of(json_values, texts, times, nonces, codes, holders)


@st.composite
def near_valid(draw: st.DrawFn, method: str) -> dict[str, Any]:
    """A correct answer for `method`, then none, one or two fields dropped or spoiled."""
    obj = dict(draw(GOOD[method]))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
        key = draw(st.sampled_from(sorted(obj)))
        if draw(st.booleans()):
            del obj[key]
        else:
            obj[key] = draw(junk_values)
        if not obj:
            break
    return obj


@st.composite
def answers(draw: st.DrawFn, method: str) -> httpx.Response | httpx.HTTPError:
    """Any answer at all; a third of them close to what the spec says for `method`."""
    if draw(st.integers(0, 19)) == 0:
        return draw(transport_failures)
    if draw(st.integers(0, 2)) == 0:
        exact = draw(st.integers(0, 3)) > 0
        status = draw(st.sampled_from([200, 201]) if exact else statuses)
        content_type = "application/json" if exact else draw(content_types)
        body = json.dumps(draw(near_valid(method)), ensure_ascii=draw(st.booleans()))
        return httpx.Response(
            status, headers={"content-type": content_type}, content=body.encode("utf-8")
        )
    headers: dict[str, str] = {}
    content_type = draw(st.none() | content_types)
    if content_type is not None:
        headers["content-type"] = content_type
    if draw(st.booleans()):
        headers["retry-after"] = draw(st.one_of(st.integers(0, 10**12).map(str), header_text))
    if draw(st.integers(0, 9)) == 0:
        locations = st.sampled_from(["/elsewhere", "https://evil.example/x"]) | header_text
        headers["location"] = draw(locations)
    body = draw(bodies)
    if draw(st.integers(0, 9)) == 0:
        headers["content-length"] = draw(st.integers(0, 10**6).map(str) | header_text)
    return httpx.Response(draw(statuses), headers=headers, content=body)


# --- checks of what comes out ---------------------------------------------------------


def assert_valid_challenge(challenge: Challenge, purpose: str | None = None) -> None:
    assert re.fullmatch(r"[0-9]{14}", challenge.code, re.ASCII)
    assert challenge.purpose in ("login", "e-onay")
    if purpose:
        assert challenge.purpose == purpose
    assert isinstance(challenge.text, SignableText) and 0 < len(challenge.text) <= 2000
    assert isinstance(challenge.nonce, bytes) and len(challenge.nonce) == 32
    for moment in (challenge.created_at, challenge.expires_at, challenge.server_time):
        assert isinstance(moment, datetime) and moment.utcoffset() is not None
    assert challenge.expires_at > challenge.server_time
    assert challenge.seconds_left() > 0


def assert_valid(result: object, method: str) -> None:
    if method == "get":
        assert isinstance(result, Challenge)
        assert_valid_challenge(result)
        assert result.code == CODE
    elif method == "start":
        assert isinstance(result, Challenge)
        assert_valid_challenge(result, "e-onay")
    elif method == "login":
        assert isinstance(result, LoginAccepted)
        assert re.fullmatch(r"[\x21-\x7e]+", result.session.token)
        assert result.holder.name and result.holder.serial
        assert isinstance(result.holder.name, str) and isinstance(result.holder.serial, str)
        assert isinstance(result.e_onay_active, bool)
    elif method == "e_onay":
        assert isinstance(result, EOnayAccepted)
        assert isinstance(result.reference, str) and result.reference
        assert result.activated_at.utcoffset() is not None
    else:
        assert isinstance(result, EOnayStatus)
        assert isinstance(result.active, bool)
        assert result.reference is None or (isinstance(result.reference, str) and result.reference)
        assert result.activated_at is None or result.activated_at.utcoffset() is not None


class Scripted:
    """A MockTransport handler that plays whatever answer the test set last."""

    def __init__(self) -> None:
        self.answer: httpx.Response | httpx.HTTPError = httpx.Response(500)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        # a fresh copy each time: a response stream can be read once
        return httpx.Response(
            self.answer.status_code, headers=self.answer.headers, content=self.answer.content
        )


@pytest.fixture(scope="module")
def scripted() -> Scripted:
    return Scripted()


@pytest.fixture(scope="module")
def mock_client(scripted: Scripted) -> PortalClient:
    clock = FakeClock()
    return PortalClient(
        "https://portal.example/",
        transport=httpx.MockTransport(scripted),
        clock=clock,
        sleep=clock.advance,
    )


def _valid_challenge(purpose: str) -> Challenge:
    return parse_challenge(
        {
            "code": "12345678901234",
            "purpose": purpose,
            "text": "metin",
            "nonce": base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode(),
            "created_at": "2019-11-13T11:27:22+03:00",
            "expires_at": "2019-11-13T11:32:22+03:00",
            "server_time": "2019-11-13T11:27:38+03:00",
        },
        clock=FakeClock(),
    )


SIGNATURE = Signature(cms=b"\x30\x00", signing_time=datetime.now(UTC), certificate_fingerprint="")
CALLS: dict[str, Callable[[PortalClient], object]] = {
    "get": lambda c: c.get_challenge(CODE),
    "login": lambda c: c.submit_login(_valid_challenge("login"), SIGNATURE),
    "start": lambda c: c.start_e_onay(Session("token")),
    "e_onay": lambda c: c.submit_e_onay(_valid_challenge("e-onay"), SIGNATURE),
    "status": lambda c: c.e_onay_status(Session("token")),
}


# --- the properties -------------------------------------------------------------------


@MANY
@given(data=st.data(), method=st.sampled_from(sorted(CALLS)))
def test_any_answer_gives_a_valid_model_or_a_portal_error(
    mock_client: PortalClient, scripted: Scripted, data, method
):
    scripted.answer = data.draw(answers(method))
    try:
        result = CALLS[method](mock_client)
    except PortalError as exc:
        event(f"{method}: {type(exc).__name__}")
        return
    except UnsafeTextError:  # the signable-text rule, run as a challenge's text arrives
        assert method in ("get", "start")
        event(f"{method}: UnsafeTextError")
        return
    event(f"{method}: {type(result).__name__}")
    assert_valid(result, method)


@SOME
@given(
    obj=st.fixed_dictionaries(
        {
            "code": st.from_regex(r"\A[0-9]{14}\Z"),
            "purpose": st.sampled_from(["login", "e-onay"]),
            # Texts the rule accepts (so acceptance is tried as often as refusal), and any text.
            "text": st.sampled_from([LOGIN_TEXT, "Madde [1]: 10:30'da onaylıyorum."])
            | st.text(min_size=1, max_size=2000),
            "nonce": st.binary(min_size=32, max_size=32),
            "created_at": moments,
            "left": st.integers(min_value=1, max_value=900),  # the spec's 15 minutes at most
            "elapsed": st.integers(min_value=0, max_value=3600),
        }
    ),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8"]),
)
def test_every_valid_challenge_is_accepted_exactly(
    mock_client: PortalClient, scripted: Scripted, obj, content_type
):
    """No false alarms: a challenge that follows the spec comes back field for field."""
    created = obj["created_at"].replace(microsecond=0)
    ttl = obj["elapsed"] + obj["left"]
    try:
        expires = created + timedelta(seconds=ttl)
        server_time = created + timedelta(seconds=obj["elapsed"])
        expires.astimezone(UTC)
        created.astimezone(UTC)
    except OverflowError:
        assume(False)
    body = {
        "code": obj["code"],
        "purpose": obj["purpose"],
        "text": obj["text"],
        "nonce": base64.urlsafe_b64encode(obj["nonce"]).rstrip(b"=").decode(),
        "created_at": created.isoformat(),
        "expires_at": expires.isoformat(),
        "server_time": server_time.isoformat(),
    }
    scripted.answer = httpx.Response(
        200, headers={"content-type": content_type}, content=json.dumps(body).encode()
    )
    try:
        check_signable(obj["text"])
    except UnsafeTextError as refused:  # the only refusal: the text rule's, with its reason
        with pytest.raises(UnsafeTextError) as info:
            mock_client.get_challenge(obj["code"])
        assert info.value.reason == refused.reason
        return
    challenge = mock_client.get_challenge(obj["code"])
    assert (challenge.code, challenge.purpose, challenge.text, challenge.nonce) == (
        obj["code"],
        obj["purpose"],
        obj["text"],
        obj["nonce"],
    )
    assert (challenge.created_at, challenge.expires_at, challenge.server_time) == (
        created,
        expires,
        server_time,
    )
    assert challenge.seconds_left() == obj["left"]


@SOME
@given(
    status=st.integers(min_value=400, max_value=599),
    code=st.sampled_from(sorted(ERROR_CLASSES)),
    message=st.text(max_size=100),
    method=st.sampled_from(sorted(CALLS)),
)
def test_spec_errors_map_to_their_exceptions(
    mock_client: PortalClient, scripted: Scripted, status, code, message, method
):
    scripted.answer = httpx.Response(
        status,
        headers={"content-type": "application/json", "retry-after": "7"},
        content=json.dumps({"error": {"code": code, "message": message}}).encode(),
    )
    with pytest.raises(PortalError) as info:
        CALLS[method](mock_client)
    if status >= 500:
        assert type(info.value) is ServerError
    elif status == 429:
        assert info.value.code == "rate_limited" and info.value.retry_after == 7
    else:
        assert type(info.value) is ERROR_CLASSES[code]
        assert info.value.status == status
    assert "\x1b" not in info.value.portal_message and "\n" not in info.value.portal_message


@MANY
@given(code=st.text(max_size=20) | st.from_regex(r"\A[0-9]{14}\Z"))
def test_code_entry_checks_before_sending(mock_client: PortalClient, scripted: Scripted, code):
    """Code-entry input: only 14 ASCII digits ever reach the network, and only in the path."""
    scripted.requests.clear()
    scripted.answer = httpx.Response(404, json={"error": {"code": "not_found", "message": ""}})
    try:
        mock_client.get_challenge(code)
    except InvalidCodeError:
        assert not re.fullmatch(r"[0-9]{14}", code, re.ASCII)
        assert scripted.requests == []
        return
    except PortalError:
        pass
    assert re.fullmatch(r"[0-9]{14}", code, re.ASCII)
    assert [r.url.path for r in scripted.requests] == [f"/api/v1/challenges/{code}"]
