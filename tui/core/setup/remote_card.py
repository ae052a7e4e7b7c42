"""Doctor's view of a card on another machine: is the laptop's `p11-kit server` reachable?

When the module is `p11-kit-client.so` (chosen by `P11_KIT_SERVER_ADDRESS`),
a failure is nearly never this machine's driver: the socket named by the
address is the end of an `ssh -R` forward, and behind it the laptop's
`p11-kit server`. This looks at each link in turn, without root: the path
exists, it is a socket, it accepts a connection, and something behind it
answers p11-kit's one-byte protocol handshake (the client sends the highest
protocol version it speaks, the server answers with the one it chose). A
forward whose laptop end is not listening still accepts (sshd does) and then
hangs up, which is why the handshake is tried.
"""

from __future__ import annotations

import socket
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote

from tui.core.setup.modules import ENV_SERVER, ModuleCandidate, Source
from tui.i18n import _

HANDSHAKE_VERSION = b"\x00"  # protocol version 0: every p11-kit server answers it


class Link(StrEnum):
    NOT_UNIX = "not-unix"  # vsock or exec: nothing this can look at
    MISSING = "missing"  # no file at the path: the -R forward is not in place
    NOT_SOCKET = "not-socket"  # a plain file or directory where the socket should be
    REFUSED = "refused"  # a socket file nobody listens on: a leftover of an ended forward
    NO_ANSWER = "no-answer"  # accepts, then hangs up or stays silent: no server behind it
    ANSWERS = "answers"  # p11-kit's handshake came back


@dataclass(frozen=True)
class ServerState:
    link: Link
    path: str | None
    detail: str  # for people

    @property
    def ok(self) -> bool:
        return self.link is Link.ANSWERS


def address_of(candidate: ModuleCandidate) -> str | None:
    """The p11-kit server address a candidate of `Source.REMOTE` was chosen for."""
    if candidate.source is not Source.REMOTE:
        return None
    prefix = f"{ENV_SERVER}="
    return candidate.origin[len(prefix) :] if candidate.origin.startswith(prefix) else None


def socket_path(address: str) -> str | None:
    """The `path` of a `unix:` address (`unix:path=/run/…`), percent-escapes undone."""
    kind, sep, attributes = address.strip().partition(":")
    if not sep or kind != "unix":
        return None
    for attribute in attributes.split(";"):
        name, eq, value = attribute.partition("=")
        if eq and name.strip() == "path":
            return unquote(value.strip().strip('"')) or None
    return None


def probe_server(address: str, timeout: float = 2.0) -> ServerState:
    """Each link from this machine to the laptop's `p11-kit server`, first broken one wins."""
    path = socket_path(address)
    if path is None:
        return ServerState(
            Link.NOT_UNIX,
            None,
            _("{address} is not a unix socket address; not checked").format(address=address),
        )
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        return ServerState(
            Link.MISSING,
            path,
            _("no socket at {path}: the ssh -R forward is not in place").format(path=path),
        )
    except OSError as exc:
        return ServerState(
            Link.MISSING,
            path,
            _("cannot look at {path}: {error}").format(path=path, error=exc.strerror),
        )
    if not stat.S_ISSOCK(mode):
        return ServerState(
            Link.NOT_SOCKET,
            path,
            _("{path} is not a socket (a file left there by something else)").format(path=path),
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError as exc:
            return ServerState(
                Link.REFUSED,
                path,
                _(
                    "{path} refuses connections ({error}): a socket left from a forward "
                    "that has ended"
                ).format(path=path, error=exc.strerror or exc),
            )
        try:
            sock.sendall(HANDSHAKE_VERSION)
            answer = sock.recv(1)
        except OSError:
            answer = b""
    if not answer:
        return ServerState(
            Link.NO_ANSWER,
            path,
            _(
                "{path} accepts connections but nothing answers behind it: the forward is "
                "there, p11-kit server on the other end is not"
            ).format(path=path),
        )
    return ServerState(Link.ANSWERS, path, _("p11-kit server answers at {path}").format(path=path))


def laptop_hint(path: str | None) -> str:
    """What to do on the laptop where the card is, for every broken link."""
    where = path or "…"
    return _(
        "On the laptop where the card is: check that `p11-kit server` is running for the "
        "card's module, and that this SSH session forwards it here (ssh -R {path}:<the "
        "laptop's socket>). `eonay ssh USER@HOST`, run on the laptop, does both; log in "
        "again with it."
    ).format(path=where)
