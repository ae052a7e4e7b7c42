"""The simulator seen by a client written from the spec alone: raw HTTP, status codes, JSON."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta

import httpx
import pytest

from tui.core.text import check_signable
from tui.sim.server import RunningPortal
from tui.sim.state import E_ONAY_TEXT, PortalState, mask_serial

RFC3339_TR = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00\Z")


def _error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code and body["error"]["message"]


def test_sim_logins_gives_a_challenge_exactly_as_the_spec_shows(sim: RunningPortal):
    response = httpx.post(f"{sim.url}api/v1/sim/logins", json={})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {
        "code", "purpose", "text", "nonce", "created_at", "expires_at", "server_time"
    }  # fmt: skip
    assert re.fullmatch(r"[1-9][0-9]{13}", body["code"])
    assert body["purpose"] == "login"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", body["nonce"])
    assert len(base64.urlsafe_b64decode(body["nonce"] + "=")) == 32
    for key in ("created_at", "expires_at", "server_time"):
        assert RFC3339_TR.match(body[key]), body[key]
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["expires_at"]) - created == timedelta(seconds=300)

    again = httpx.get(f"{sim.url}api/v1/challenges/{body['code']}")
    assert again.status_code == 200
    assert {k: v for k, v in again.json().items() if k != "server_time"} == {
        k: v for k, v in body.items() if k != "server_time"
    }


def test_codes_are_fresh_and_distinct(sim: RunningPortal):
    codes = {sim.new_login().code for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"[0-9]{14}", c) for c in codes)
    nonces = {sim.new_login().nonce for _ in range(50)}
    assert len(nonces) == 50


def test_ttl_is_configurable(sim: RunningPortal, sim_clock):
    sim.reset(PortalState(clock=sim_clock, ttl=30))
    code = sim.new_login().code
    body = httpx.get(f"{sim.url}api/v1/challenges/{code}").json()
    left = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(body["server_time"])
    assert timedelta(seconds=29) <= left <= timedelta(seconds=30)
    sim_clock.advance(31)
    _error(httpx.get(f"{sim.url}api/v1/challenges/{code}"), 410, "expired")


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "empty"),
        (b"not json", "not json"),
        (b"[]", "not an object"),
        (b"{}", "no cms"),
        (b'{"cms": 5}', "cms not a string"),
        (b'{"cms": "***"}', "cms not base64"),
        (b'{"cms": "' + b"A" * 300_000 + b'"}', "too large"),
    ],
)
def test_malformed_signature_bodies_are_invalid_request(sim: RunningPortal, content, what):
    code = sim.new_login().code
    response = httpx.post(
        f"{sim.url}api/v1/challenges/{code}/signature",
        content=content,
        headers={"content-type": "application/json"},
    )
    _error(response, 400, "invalid_request")


def test_signature_for_unknown_and_malformed_codes(sim: RunningPortal):
    cms = {"cms": base64.b64encode(b"\x30\x00").decode()}
    _error(
        httpx.post(f"{sim.url}api/v1/challenges/12345678901234/signature", json=cms),
        404,
        "not_found",
    )
    _error(
        httpx.post(f"{sim.url}api/v1/challenges/123/signature", json=cms), 400, "invalid_request"
    )


def test_a_cms_that_is_not_one_is_signature_invalid(sim: RunningPortal):
    code = sim.new_login().code
    response = httpx.post(
        f"{sim.url}api/v1/challenges/{code}/signature",
        json={"cms": base64.b64encode(b"\x30\x03\x02\x01\x01").decode()},
    )
    _error(response, 422, "signature_invalid")
    assert sim.state.challenge_record(code).answer is None  # a failed try does not use the code


def test_unknown_paths_and_methods_answer_in_the_error_format(sim: RunningPortal):
    """The spec's table: a malformed path is 400 invalid_request."""
    _error(httpx.get(f"{sim.url}api/v1/nothing"), 400, "invalid_request")
    _error(httpx.get(f"{sim.url}api/v1/challenges/"), 400, "invalid_request")
    _error(httpx.get(f"{sim.url}api/v1/challenges/12345678901234/x"), 400, "invalid_request")
    _error(httpx.delete(f"{sim.url}api/v1/e-onay"), 400, "invalid_request")
    _error(httpx.get(f"{sim.url}favicon.ico"), 404, "not_found")


def test_rate_limit_answer_has_retry_after(sim: RunningPortal):
    for i in range(sim.state.max_wrong_codes):
        _error(httpx.get(f"{sim.url}api/v1/challenges/1111111111111{i}"), 404, "not_found")
    response = httpx.get(f"{sim.url}api/v1/challenges/11111111111119")
    _error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_the_portal_page_shows_a_fresh_code_and_its_countdown(sim: RunningPortal):
    first = httpx.get(sim.url)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/html")
    page = first.text
    assert "E-imzalı Giriş Ekranı" in page and "Doğrulama Kodu" in page
    assert re.search(r"Kalan süre: <span id=\"left\">(29\d|300)</span> saniye", page)
    code = re.search(r'id="code">([0-9]{14})<', page).group(1)
    assert sim.state.challenge_record(code).purpose == "login"
    second_code = re.search(r'id="code">([0-9]{14})<', httpx.get(sim.url).text).group(1)
    assert second_code != code


def test_faults_leave_the_simulator_endpoints_alone(sim: RunningPortal):
    sim.faults.fail_next(3, 503)
    assert httpx.post(f"{sim.url}api/v1/sim/logins", json={}).status_code == 201
    assert httpx.get(sim.url).status_code == 200
    assert sim.faults.fail_count == 3
    _error(httpx.get(f"{sim.url}api/v1/challenges/12345678901234"), 503, "server_error")


def test_faults_switched_over_http(sim: RunningPortal):
    url = f"{sim.url}api/v1/sim/faults"
    body = httpx.post(url, json={"fail_next": 1, "fail_status": 503, "hostile_text": "bidi"}).json()
    assert body["fail_next"] == 1 and body["fail_status"] == 503 and body["hostile_text"] == "bidi"
    assert "\u202e" in sim.new_login().text
    _error(httpx.get(f"{sim.url}api/v1/challenges/12345678901234"), 503, "server_error")
    assert httpx.post(url, json={"reset": True}).json()["hostile_text"] is None
    _error(httpx.post(url, json={"fail_next": 1, "fail_status": 418}), 400, "invalid_request")
    _error(httpx.post(url, json={"hostile_text": "nope"}), 400, "invalid_request")


def test_e_onay_text_is_turkish_paragraphs_that_can_be_signed():
    assert check_signable(E_ONAY_TEXT) == E_ONAY_TEXT
    paragraphs = E_ONAY_TEXT.split("\n\n")
    assert len(paragraphs) >= 3
    assert "E-Onay" in E_ONAY_TEXT and "onaylıyorum" in E_ONAY_TEXT
    assert len(E_ONAY_TEXT) <= 2000


def test_masked_serial():
    assert mask_serial("13579246838") == "13*******38"
    assert mask_serial("1234") == "****"
