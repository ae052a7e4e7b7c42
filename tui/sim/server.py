"""Run the simulator under uvicorn: in a background thread (tests, demo) or in the foreground (CLI).

`running_portal()` binds a free port on 127.0.0.1 first, so the URL is known
before the server starts, and stops the server when the block ends:

    with running_portal(trust_roots=[root]) as portal:
        client = PortalClient(portal.url)
        code = portal.new_login().code
        ...
        assert portal.state.holder(serial).e_onay_active

The HTTP protocol is uvicorn's h11 one, extended only to register each
connection in a `ConnectionRegistry`, so the "drop the connection after
processing the signature" fault can cut it without sending a byte.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from tui.sim.faults import ConnectionRegistry, Faults
from tui.sim.portal_app import FaultMiddleware, make_app
from tui.sim.state import ChallengeRecord, PortalState

STARTUP_TIMEOUT = 10.0


def _protocol_class(registry: ConnectionRegistry) -> type[H11Protocol]:
    class RegisteringH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if self.client:
                registry.add(tuple(self.client), transport)  # type: ignore[arg-type]

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client:
                registry.discard(tuple(self.client), self.transport)  # type: ignore[arg-type]
            super().connection_lost(exc)

    return RegisteringH11Protocol


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections queue from now on, before uvicorn takes over
    return sock


def _url(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}/"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass
class RunningPortal:
    """A simulator serving on `url`; `state` and `faults` are live, tests may poke them."""

    url: str
    app: FaultMiddleware

    @property
    def state(self) -> PortalState:
        return self.app.portal

    @property
    def faults(self) -> Faults:
        return self.app.faults

    def reset(self, state: PortalState) -> None:
        """Start over with `state` and no faults, without restarting the server (fast tests)."""
        self.app.replace_state(state)
        self.faults.reset()

    def new_login(self) -> ChallengeRecord:
        """What the portal's "E-imzalı Giriş" page does: a new login code."""
        return self.state.new_challenge("login", text=self.faults.text_for())


def _server(
    app: FaultMiddleware,
    registry: ConnectionRegistry,
    *,
    ssl_certfile: Path | str | None,
    ssl_keyfile: Path | str | None,
    log_level: str,
    keep_alive: int = 5,
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        timeout_keep_alive=keep_alive,
        http=_protocol_class(registry),
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=2,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
    )
    return uvicorn.Server(config)


@contextmanager
def serving(
    app: Any,
    *,
    registry: ConnectionRegistry | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_certfile: Path | str | None = None,
    ssl_keyfile: Path | str | None = None,
    log_level: str = "warning",
    keep_alive: int = 5,
) -> Iterator[str]:
    """Serve any ASGI `app` from a background thread for the block; yields its base URL.

    `keep_alive`: seconds an idle connection stays open (uvicorn's default, 5).
    """
    registry = registry or ConnectionRegistry()
    sock = _bind(host, port)
    server = _server(
        app,
        registry,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        log_level=log_level,
        keep_alive=keep_alive,
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="eonay-sim-server", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the simulator's server did not start")
            time.sleep(0.01)
        yield _url("https" if ssl_certfile else "http", host, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        sock.close()


@contextmanager
def running_portal(
    state: PortalState | None = None,
    *,
    faults: Faults | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_certfile: Path | str | None = None,
    ssl_keyfile: Path | str | None = None,
    log_level: str = "warning",
    **state_options: Any,
) -> Iterator[RunningPortal]:
    """Serve the simulator from a background thread for the duration of the block.

    `state_options` go to `PortalState` when no `state` is given (ttl,
    trust_roots, clock, ...). TLS is on when a certificate and key are given.
    """
    registry = ConnectionRegistry()
    app = make_app(state or PortalState(**state_options), faults, registry)
    with serving(
        app,
        registry=registry,
        host=host,
        port=port,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        log_level=log_level,
    ) as url:
        yield RunningPortal(url, app)


def serve(
    app: FaultMiddleware,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_certfile: Path | str | None = None,
    ssl_keyfile: Path | str | None = None,
    on_listening: Callable[[str], None] = print,
    log_level: str = "warning",
) -> None:
    """Serve in the foreground until interrupted (Ctrl-C or SIGTERM); for `eonay portal-sim`."""
    registry = ConnectionRegistry()
    # make_app gave the app its own registry; point it at the one the protocol fills.
    app.connections = registry
    sock = _bind(host, port)
    scheme = "https" if ssl_certfile else "http"
    on_listening(_url(scheme, host, sock.getsockname()[1]))
    server = _server(
        app, registry, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, log_level=log_level
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
