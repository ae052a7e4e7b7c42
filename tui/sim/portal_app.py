"""The portal simulator as an ASGI app (Starlette), following the portal API spec.

`make_app()` builds it around a `PortalState` (codes, sessions, holders) and
a `Faults` instance; `tui.sim.server` runs it under uvicorn. Besides the
spec's endpoints it serves `GET /` (the "E-imzalı Giriş Ekranı" with a fresh
code and its countdown) and `GET|POST /api/v1/sim/faults` (switch faults).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from tui.sim.faults import ConnectionRegistry, Faults
from tui.sim.state import PortalState, SimError

log = logging.getLogger("eonay.sim")

MAX_REQUEST_BYTES = 256 * 1024
OVERSIZE_PADDING = 80 * 1024


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _error_response(exc: SimError) -> JSONResponse:
    return JSONResponse(error_body(exc.code, exc.message), exc.status, headers=exc.headers)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _json_body(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request's JSON object, read with a size limit; 400 invalid_request otherwise."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REQUEST_BYTES:
            raise SimError(400, "invalid_request", "İstek gövdesi çok büyük.")
    if not body.strip() and allow_empty:
        return {}
    try:
        data = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SimError(400, "invalid_request", "İstek gövdesi geçerli bir JSON değil.") from None
    if not isinstance(data, dict):
        raise SimError(400, "invalid_request", "İstek gövdesi bir JSON nesnesi olmalıdır.")
    return data


# --- endpoints ------------------------------------------------------------


async def get_challenge(request: Request) -> Response:
    state: PortalState = request.app.state.portal
    return JSONResponse(state.get_challenge(request.path_params["code"], _client(request)))


async def post_signature(request: Request) -> Response:
    state: PortalState = request.app.state.portal
    data = await _json_body(request)
    cms_text = data.get("cms")
    if not isinstance(cms_text, str) or not cms_text:
        raise SimError(400, "invalid_request", "'cms' alanı eksik.")
    try:
        cms = base64.b64decode(cms_text, validate=True)
    except (binascii.Error, ValueError):
        raise SimError(400, "invalid_request", "'cms' alanı geçerli bir base64 değil.") from None
    answer = state.submit_signature(request.path_params["code"], cms, _client(request))
    return JSONResponse(answer)


async def post_e_onay(request: Request) -> Response:
    state: PortalState = request.app.state.portal
    faults: Faults = request.app.state.faults
    await _json_body(request, allow_empty=True)
    answer = state.start_e_onay(request.headers.get("authorization"), text=faults.text_for())
    return JSONResponse(answer, status_code=201)


async def get_e_onay(request: Request) -> Response:
    state: PortalState = request.app.state.portal
    return JSONResponse(state.e_onay_status(request.headers.get("authorization")))


async def post_sim_login(request: Request) -> Response:
    state: PortalState = request.app.state.portal
    faults: Faults = request.app.state.faults
    await _json_body(request, allow_empty=True)
    record = state.new_challenge("login", text=faults.text_for())
    return JSONResponse(state.challenge_json(record), status_code=201)


async def sim_faults(request: Request) -> Response:
    faults: Faults = request.app.state.faults
    if request.method == "POST":
        try:
            faults.update(await _json_body(request))
        except (TypeError, ValueError) as exc:
            raise SimError(400, "invalid_request", str(exc)) from None
    return JSONResponse(faults.snapshot())


PAGE = """<!doctype html>
<html lang="tr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>E-imzalı Giriş Ekranı · eonay portal simülatörü</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f3f5f8; color: #1d2733; margin: 0; }}
header {{ background: #b3001b; color: #fff; padding: .8rem 1.5rem; font-weight: 600; }}
main {{ max-width: 40rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem;
       border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }}
.code {{ font: 700 2.2rem/1.2 ui-monospace, monospace; letter-spacing: .12em; margin: .3rem 0; }}
.left {{ font-size: 1.2rem; }}
.expired {{ color: #b3001b; font-weight: 600; }}
ol {{ padding-left: 1.2rem; }}
</style>
</head>
<body>
<header>Kamu SM · Nitelikli Elektronik Sertifika İşlemleri (simülatör)</header>
<main>
<h1>E-imzalı Giriş Ekranı</h1>
<ol>
<li>Elektronik imza kartınızı kart okuyucuya takın.</li>
<li>Terminalde <code>eonay</code> uygulamasını çalıştırın.</li>
<li>Aşağıdaki doğrulama kodunu uygulamaya girin ve metni imzalayın.</li>
</ol>
<p>Doğrulama Kodu:</p>
<p class="code" id="code">{code}</p>
<p class="left" id="left-line">Kalan süre: <span id="left">{left}</span> saniye</p>
<p><a href="/">Yeni kod al</a></p>
</main>
<script>
(function () {{
  var end = Date.now() + {left} * 1000;
  var left = document.getElementById("left");
  var line = document.getElementById("left-line");
  function tick() {{
    var s = Math.max(0, Math.round((end - Date.now()) / 1000));
    left.textContent = s;
    if (s === 0) {{
      line.textContent = "Kodun süresi doldu. Yeni kod alın.";
      line.className = "left expired";
      return;
    }}
    setTimeout(tick, 250);
  }}
  tick();
}})();
</script>
</body>
</html>
"""


async def page(request: Request) -> Response:
    """The portal's "E-imzalı Giriş Ekranı": a fresh code with its countdown."""
    state: PortalState = request.app.state.portal
    faults: Faults = request.app.state.faults
    record = state.new_challenge("login", text=faults.text_for())
    body = PAGE.format(code=html.escape(record.code), left=state.seconds_left(record))
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


# --- error answers ----------------------------------------------------------


async def _sim_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SimError)
    return _error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors in the spec's format: under /api a malformed path or method is
    400 invalid_request (the spec's table has no 404/405 for paths); elsewhere 404."""
    assert isinstance(exc, HTTPException)
    if exc.status_code >= 500:
        return JSONResponse(error_body("server_error", "Sunucu hatası."), exc.status_code)
    if request.url.path.startswith("/api/"):
        message = "Geçersiz adres veya yöntem."
        return JSONResponse(error_body("invalid_request", message), 400, headers=exc.headers)
    return JSONResponse(error_body("not_found", "Böyle bir sayfa yok."), 404)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("simulator bug", exc_info=exc)
    return JSONResponse(error_body("server_error", "Sunucu hatası."), 500)


# --- faults, at the HTTP boundary -------------------------------------------


class FaultMiddleware:
    """Applies `Faults` to the portal API's requests; the app underneath stays real."""

    def __init__(
        self, app: Starlette, portal: PortalState, faults: Faults, connections: ConnectionRegistry
    ) -> None:
        self.app = app
        self.portal = portal
        self.faults = faults
        self.connections = connections

    def replace_state(self, portal: PortalState) -> None:
        self.portal = portal
        self.app.state.portal = portal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith("/api/v1/")
            or path.startswith("/api/v1/sim/")
        ):
            await self.app(scope, receive, send)
            return
        # A request meets the faults in force when it arrives: one still waiting
        # out a latency must not take a fault set after it came in.
        latency = self.faults.latency
        status = self.faults.take_failure()
        drop = (
            status is None
            and scope["method"] == "POST"
            and path.endswith("/signature")
            and self.faults.take_drop()
        )
        transform = None if status is not None or drop else self.faults.take_transform()
        if latency > 0:
            await asyncio.sleep(latency)
        if status is not None:
            body = error_body("server_error", "Sunucu geçici olarak hizmet veremiyor.")
            await JSONResponse(body, status)(scope, receive, send)
            return
        if drop:
            await self._process_then_drop(scope, receive, send)
            return
        if transform is None:
            await self.app(scope, receive, send)
            return
        await self._transformed(transform, scope, receive, send)

    async def _process_then_drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The portal does all its work (the signature is accepted), the answer is lost."""
        start: Message | None = None

        async def swallow(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message

        await self.app(scope, receive, swallow)
        client = scope.get("client")
        transport = self.connections.get(tuple(client)) if client else None
        if transport is not None:
            transport.abort()  # no byte of the answer leaves the portal
            for _ in range(3):
                await asyncio.sleep(0)  # let the server see the connection gone
            return
        # Not under tui.sim.server (no registry): start the answer and stop mid-way,
        # which any ASGI server turns into a closed connection.
        if start is not None:
            await send(start)
        raise ConnectionAbortedError("fault: connection dropped after processing")

    async def _transformed(self, kind: str, scope: Scope, receive: Receive, send: Send) -> None:
        status = 200
        headers: list[tuple[bytes, bytes]] = []
        body = bytearray()

        async def collect(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, collect)
        kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
        chunks: list[bytes]
        if kind == "malformed":
            content_type, chunks = b"application/json", [bytes(body[: max(1, len(body) // 2)])]
        elif kind == "wrong_type":
            page_body = "<html><body><h1>Bakım çalışması</h1><p>Lütfen bekleyin.</p></body></html>"
            status, content_type, chunks = 200, b"text/html; charset=utf-8", [page_body.encode()]
        else:  # oversized: still valid JSON, so only the size can give it away
            try:
                data = json.loads(bytes(body))
            except ValueError:
                data = {}
            if isinstance(data, dict):
                data["padding"] = "x" * OVERSIZE_PADDING
            encoded = json.dumps(data, ensure_ascii=False).encode("utf-8")
            content_type = b"application/json"
            # Few, large chunks: the client hangs up at 64 KiB, and fewer writes into a
            # closed connection keep asyncio quiet.
            chunks = [encoded[i : i + 32768] for i in range(0, len(encoded), 32768)]
        chunked = kind == "oversized" and self.faults.oversized_chunked
        if not chunked:
            chunks = [b"".join(chunks)]
        headers = [*kept, (b"content-type", content_type)]
        if not chunked:
            headers.append((b"content-length", str(sum(map(len, chunks))).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for i, chunk in enumerate(chunks):
            more = i < len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more})


def make_app(
    state: PortalState | None = None,
    faults: Faults | None = None,
    connections: ConnectionRegistry | None = None,
) -> FaultMiddleware:
    """The simulator as an ASGI app (`.portal` and `.faults` reach inside).

    `state` defaults to a fresh one trusting the project's test root.
    """
    app = Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/api/v1/challenges/{code}", get_challenge, methods=["GET"]),
            Route("/api/v1/challenges/{code}/signature", post_signature, methods=["POST"]),
            Route("/api/v1/e-onay", post_e_onay, methods=["POST"]),
            Route("/api/v1/e-onay", get_e_onay, methods=["GET"]),
            Route("/api/v1/sim/logins", post_sim_login, methods=["POST"]),
            Route("/api/v1/sim/faults", sim_faults, methods=["GET", "POST"]),
        ],
        exception_handlers={
            SimError: _sim_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.portal = state if state is not None else PortalState()
    app.state.faults = faults if faults is not None else Faults()
    return FaultMiddleware(
        app, app.state.portal, app.state.faults, connections or ConnectionRegistry()
    )
