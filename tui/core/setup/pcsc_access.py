"""Doctor's view of pcscd refusing a session: polkit's `org.debian.pcsc-lite.access_pcsc`.

pcsc-lite built with polkit (Fedora, RHEL, and Debian/Ubuntu when the policy
file is installed) asks polkit whether each client may talk to pcscd, and
its policy allows only *active local* sessions: the desktop or the console.
An SSH login, a systemd service, a cron job or a container is refused. The
client library then answers `SCardEstablishContext` with
`SCARD_W_SECURITY_VIOLATION` ("Access denied"), and OpenSC, having no
reader, shows no slot: to the user it looks exactly like "no reader".

Without root, what this machine shows is: the pcscd socket exists, the
policy file is installed, the session is not a local desktop one (SSH
variables, no login session, a container's marks), and pcsc-lite's own
answer to `SCardEstablishContext`. `refusal` weighs them; it is a pure
function of `SessionFacts`, which `session_facts` gathers from a file-system
root and an environment given as parameters, so tests need no polkit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

PCSCD_SOCKET = "/run/pcscd/pcscd.comm"
ENV_PCSCD_SOCKET = "PCSCLITE_CSOCK_NAME"
POLICY_FILE = "/usr/share/polkit-1/actions/org.debian.pcsc-lite.policy"
RULE_FILE = "/etc/polkit-1/rules.d/50-eonay-pcsc.rules"
ACTIONS = ("org.debian.pcsc-lite.access_pcsc", "org.debian.pcsc-lite.access_card")

SCARD_S_SUCCESS = 0
SCARD_SCOPE_SYSTEM = 2
SCARD_W_SECURITY_VIOLATION = 0x8010006A  # pcsc-lite: "Access denied."
SCARD_E_NO_SERVICE = 0x8010001D  # pcscd is not running (or hung up at once)
_CONTEXT_TIMEOUT = 5.0


class SessionKind(StrEnum):
    DESKTOP = "desktop"  # an active local session: polkit's policy lets it in
    SSH = "ssh"
    CONTAINER = "container"
    SERVICE = "service"  # no login session at all: systemd, cron


@dataclass(frozen=True)
class SessionFacts:
    pcscd_socket: bool  # the daemon's socket exists (it runs, or systemd listens for it)
    polkit_policy: bool  # pcsc-lite's polkit policy is installed
    kind: SessionKind


class Certainty(StrEnum):
    REFUSED = "refused"  # pcsc-lite said "Access denied"
    LIKELY = "likely"  # no reader seen, and everything else points at polkit


def session_kind(root: Path, environ: Mapping[str, str]) -> SessionKind:
    """What polkit sees: an SSH login, a container, no login session, or a local one."""
    if environ.get("SSH_CONNECTION") or environ.get("SSH_CLIENT") or environ.get("SSH_TTY"):
        return SessionKind.SSH
    if (
        environ.get("container")
        or (root / ".dockerenv").exists()
        or (root / "run/.containerenv").exists()
    ):
        return SessionKind.CONTAINER
    if not environ.get("XDG_SESSION_ID"):
        return SessionKind.SERVICE
    return SessionKind.DESKTOP


def _under(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def session_facts(root: Path, environ: Mapping[str, str]) -> SessionFacts:
    """The facts, read from the file system under `root` and from `environ`."""
    socket = environ.get(ENV_PCSCD_SOCKET) or PCSCD_SOCKET
    return SessionFacts(
        pcscd_socket=_under(root, socket).exists(),
        polkit_policy=_under(root, POLICY_FILE).exists(),
        kind=session_kind(root, environ),
    )


def refusal(facts: SessionFacts, context: int | None, readers_seen: bool) -> Certainty | None:
    """Whether pcscd refuses this session: said by pcsc-lite, likely, or not the cause.

    `context` is what `SCardEstablishContext` returned (None: not asked).
    """
    if context == SCARD_W_SECURITY_VIOLATION:
        return Certainty.REFUSED
    if context == SCARD_S_SUCCESS or readers_seen:
        return None  # pcscd let this session in
    if facts.pcscd_socket and facts.polkit_policy and facts.kind is not SessionKind.DESKTOP:
        return Certainty.LIKELY
    return None


def establish_context() -> int | None:
    """pcsc-lite's answer to `SCardEstablishContext`, or None without its library.

    Uses this process's environment (PCSCLITE_CSOCK_NAME) as the app's modules
    do. A daemon that accepts and never answers must not hang doctor: the call
    runs in a thread given a few seconds.
    """
    name = ctypes.util.find_library("pcsclite") or "libpcsclite.so.1"
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return None
    establish = library.SCardEstablishContext
    establish.restype = ctypes.c_long
    establish.argtypes = [
        ctypes.c_ulong, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_long),
    ]  # fmt: skip
    release = library.SCardReleaseContext
    release.restype = ctypes.c_long
    release.argtypes = [ctypes.c_long]
    answer: list[int] = []

    def call() -> None:
        handle = ctypes.c_long(0)
        rv = establish(SCARD_SCOPE_SYSTEM, None, None, ctypes.byref(handle)) & 0xFFFFFFFF
        if rv == SCARD_S_SUCCESS:
            release(handle)
        answer.append(rv)

    thread = threading.Thread(target=call, name="eonay-doctor-pcsc", daemon=True)
    thread.start()
    thread.join(_CONTEXT_TIMEOUT)
    return answer[0] if answer else None


def primary_group() -> str:
    """The user's own group, the one a rule may name (Debian gives each user one)."""
    import grp
    import os

    try:
        return grp.getgrgid(os.getgid()).gr_name
    except KeyError:
        return str(os.getgid())


def polkit_rule(group: str) -> str:
    """A rule that lets the members of `group` use pcscd and its readers from any session."""
    actions = " ||\n         ".join(f'action.id == "{action}"' for action in ACTIONS)
    return (
        f"// {RULE_FILE}\n"
        "polkit.addRule(function(action, subject) {\n"
        f"    if (({actions}) &&\n"
        f'        subject.isInGroup("{group}")) {{\n'
        "        return polkit.Result.YES;\n"
        "    }\n"
        "});"
    )
