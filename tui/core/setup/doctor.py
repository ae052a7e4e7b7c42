"""`eonay doctor`'s checks: what is wrong with this machine, and how to fix it.

The checks only look and report; `tui.commands.doctor` prints them. Each
`Check` has a stable `id` (the kind of check), an optional `subject` (which
module, token, certificate), a status, a title, a detail and a fix hint, all
for people except `id`, `subject` and `status`. A report is well when no
check failed; warnings ("!") do not fail it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import socket
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tui import __version__
from tui.core.errors import ConfigError
from tui.core.settings import Settings
from tui.core.setup.config import ENV_CONFIG, default_config_path, load_settings
from tui.core.setup.modules import ModuleCandidate, SearchPaths, Source, discover_for
from tui.core.setup.pcsc_access import (
    Certainty,
    SessionKind,
    establish_context,
    polkit_rule,
    primary_group,
    refusal,
    session_facts,
)
from tui.core.setup.remote_card import Link, address_of, laptop_hint, probe_server
from tui.i18n import N_, _

SCHEMA_VERSION = 1
PCSCD_SOCKET = "/run/pcscd/pcscd.comm"
ENV_PCSCD_SOCKET = "PCSCLITE_CSOCK_NAME"
MIN_PYTHON = (3, 11)
# distribution name, import name: what the app needs at run time
PACKAGES: tuple[tuple[str, str], ...] = (
    ("textual", "textual"),
    ("PyKCS11", "PyKCS11"),
    ("cryptography", "cryptography"),
    ("asn1crypto", "asn1crypto"),
    ("httpx", "httpx"),
)
_HOTPLUG_SLOT = "Virtual hotplug slot"
# modules that reach their tokens without a local PC/SC reader
_NOT_PCSC = ("libsofthsm2.so", "p11-kit-client.so")


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"  # worth knowing, but nothing stops the app
    ERROR = "error"


@dataclass(frozen=True)
class Check:
    id: str
    status: Status
    title: str
    detail: str = ""
    hint: str = ""
    subject: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not Status.ERROR

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ok": self.ok,
            "status": str(self.status),
            "title": self.title,
            "detail": self.detail,
            "hint": self.hint or None,
            "subject": self.subject,
        }


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def add(self, check: Check) -> None:
        self.checks.append(check)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "ok": self.ok,
            "checks": [check.to_json() for check in self.checks],
        }


def ok(id: str, title: str, detail: str = "", subject: str | None = None) -> Check:
    return Check(id, Status.OK, title, detail, "", subject)


def warning(id: str, title: str, detail: str, hint: str, subject: str | None = None) -> Check:
    return Check(id, Status.WARNING, title, detail, hint, subject)


def error(id: str, title: str, detail: str, hint: str, subject: str | None = None) -> Check:
    return Check(id, Status.ERROR, title, detail, hint, subject)


# --- the software ---------------------------------------------------------


def check_python(version: Sequence[int] = sys.version_info[:3]) -> Check:
    text = ".".join(str(part) for part in version)
    title = _("Python {version}").format(version=text)
    if tuple(version[:2]) < MIN_PYTHON:
        need = ".".join(str(part) for part in MIN_PYTHON)
        return error(
            "python",
            title,
            _("eonay needs Python {need} or newer").format(need=need),
            _("Install a newer Python (e.g. apt-get install python3) and reinstall eonay."),
        )
    return ok("python", title, sys.executable)


def check_package(distribution: str, module: str) -> Check:
    """The package is installed and imports (a broken C extension shows here)."""
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return error(
            "package",
            _("{name} is not installed").format(name=distribution),
            "",
            _("Reinstall eonay with its dependencies: pip install --force-reinstall eonay"),
            distribution,
        )
    title = f"{distribution} {version}"
    try:
        importlib.import_module(module)
    except Exception as exc:  # any import failure is the finding
        return error(
            "package",
            title,
            _("installed but cannot be imported: {error}").format(error=exc),
            _("Reinstall it: pip install --force-reinstall {name}").format(name=distribution),
            distribution,
        )
    return ok("package", title, subject=distribution)


def check_versions() -> list[Check]:
    checks = [check_python(), ok("package", f"eonay {__version__}", subject="eonay")]
    checks.extend(check_package(dist, module) for dist, module in PACKAGES)
    return checks


# --- the configuration ----------------------------------------------------


def load_settings_leniently(args: Any, environ: Mapping[str, str]) -> tuple[Settings, list[Check]]:
    """Settings as the app would load them; when that fails, say why and go on without the file.

    Doctor must still help when the configuration itself is what is broken.
    """
    explicit = getattr(args, "config", None) or environ.get(ENV_CONFIG)
    try:
        settings = load_settings(args, environ)
    except ConfigError as exc:
        problem = error(
            "config",
            _("The configuration has an error"),
            str(exc),
            _("Fix or remove the key named above; the README's Configuration section lists them."),
            exc.path,
        )
        fallback = _without_config(args, environ)
        return fallback, [problem]
    if settings.config_path is not None:
        title = _("Configuration file: {path}").format(path=settings.config_path)
        return settings, [ok("config", title, subject=str(settings.config_path))]
    path = Path(explicit) if explicit else default_config_path(environ)
    title = _("No configuration file; using defaults, environment and flags")
    detail = _("would be read from {path}").format(path=path)
    return settings, [ok("config", title, detail)]


def _without_config(args: Any, environ: Mapping[str, str]) -> Settings:
    """The settings from flags and environment alone, or the defaults."""
    import argparse

    clean = argparse.Namespace(**{**vars(args), "config": None}) if args is not None else None
    nowhere = {
        **{k: v for k, v in environ.items() if k != ENV_CONFIG},
        "XDG_CONFIG_HOME": "/nonexistent/eonay-doctor",
    }
    try:
        return load_settings(clean, nowhere)
    except ConfigError:
        return Settings()


def check_log(settings: Settings, environ: Mapping[str, str]) -> Check:
    from tui.core.setup.logs import log_path

    path = log_path(settings, environ)
    title = _("Log file: {path}").format(path=path)
    directory = path.parent
    existing = next((p for p in (directory, *directory.parents) if p.exists()), None)
    writable = path.is_file() and os.access(path, os.W_OK)
    if not writable and (
        existing is None or not existing.is_dir() or not os.access(existing, os.W_OK)
    ):
        return warning(
            "log",
            title,
            _("cannot be written"),
            _("Choose another file with [log] file in the configuration, or EONAY_LOG_FILE."),
            str(path),
        )
    return ok("log", title, _("level {level}").format(level=settings.log_level), str(path))


# --- the card's drivers ---------------------------------------------------

_SOURCE_TEXT: dict[Source, str] = {
    Source.FLAG: N_("given with --module"),
    Source.CONFIG: N_("from the configuration file {origin}"),
    Source.ENV: N_("from {origin}"),
    Source.REMOTE: N_("p11-kit's client, for the card behind {origin}"),
    Source.P11KIT: N_("registered with p11-kit in {origin}"),
    Source.WELL_KNOWN: N_("the well-known driver of {origin}"),
}


def describe_source(candidate: ModuleCandidate) -> str:
    """Where a module came from, for people."""
    return _(_SOURCE_TEXT[candidate.source]).format(origin=candidate.origin)


def check_discovery(candidates: Sequence[ModuleCandidate]) -> Check:
    if not candidates:
        return error(
            "modules",
            _("No PKCS#11 module (card driver) found"),
            _(
                "looked at --module, the configuration, EONAY_PKCS11_MODULE, p11-kit and the "
                "well-known driver paths"
            ),
            _(
                "Install your card's driver (AKIS: libakisp11.so from Kamu SM; or OpenSC: "
                "apt-get install opensc) or pass --module /path/to/driver.so"
            ),
        )
    paths = ", ".join(candidate.path for candidate in candidates)
    title = _("PKCS#11 modules to use: {count}").format(count=len(candidates))
    return ok("modules", title, paths)


def pcscd_socket(environ: Mapping[str, str]) -> str:
    return environ.get(ENV_PCSCD_SOCKET) or PCSCD_SOCKET


def pcscd_reachable(path: str, timeout: float = 1.0) -> str | None:
    """None when the PC/SC daemon answers on `path`, else why not."""
    if not Path(path).exists():
        return _("no socket at {path}").format(path=path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError as exc:
            return _("cannot connect to {path}: {error}").format(path=path, error=exc.strerror)
    return None


def check_pcscd(
    candidates: Sequence[ModuleCandidate],
    environ: Mapping[str, str],
    tokens_found: bool,
) -> Check:
    title = _("PC/SC daemon (pcscd)")
    path = pcscd_socket(environ)
    if candidates and all(Path(c.path).name in _NOT_PCSC for c in candidates):
        return ok("pcscd", title, _("not needed by the modules in use"))
    problem = pcscd_reachable(path)
    if problem is None:
        return ok("pcscd", title, _("reachable at {path}").format(path=path))
    hint = _("Card readers need pcscd: apt-get install pcscd, then systemctl start pcscd.socket")
    if tokens_found:
        return warning("pcscd", title, problem, hint)
    return error("pcscd", title, problem, hint)


def uses_pcscd(candidates: Sequence[ModuleCandidate]) -> bool:
    return any(Path(c.path).name not in _NOT_PCSC for c in candidates)


def check_pcsc_access(
    candidates: Sequence[ModuleCandidate],
    environ: Mapping[str, str],
    findings: CardFindings,
    root: Path = Path("/"),
    context: Callable[[], int | None] = establish_context,
    group: Callable[[], str] = primary_group,
) -> Check | None:
    """pcscd refusing this session through polkit, when that is what the rest points at.

    None when no module here uses pcscd, or when nothing suggests a refusal.
    """
    if not uses_pcscd(candidates) or findings.tokens_found:
        return None
    facts = session_facts(root, environ)
    answer = context() if facts.pcscd_socket else None
    verdict = refusal(facts, answer, findings.pcsc_readers > 0)
    if verdict is None:
        return None
    kinds = {
        SessionKind.SSH: _("an SSH login"),
        SessionKind.CONTAINER: _("a container"),
        SessionKind.SERVICE: _("a service or a job without a login session"),
        SessionKind.DESKTOP: _("a desktop session"),
    }
    session = kinds[facts.kind]
    name = group()
    hint = _(
        "pcsc-lite asks polkit whether a program may use pcscd "
        "(org.debian.pcsc-lite.access_pcsc) and its readers (access_card); its policy allows "
        "only the active local session, at the desktop or the console. An administrator can "
        "let the members of a group in from any session with this rule (polkit reads it at "
        "once). It names {group}, this user's own group; for several users, create a group "
        "such as pcscd, name it instead, and add them to it:"
    ).format(group=name)
    hint += (
        "\n"
        + polkit_rule(name)
        + "\n"
        + _("Or run eonay in the desktop session of the computer the reader is plugged into.")
    )
    if verdict is Certainty.REFUSED:
        return error(
            "pcsc-access",
            _("pcscd refuses this session (polkit)"),
            _(
                "SCardEstablishContext: Access denied (SCARD_W_SECURITY_VIOLATION) in {session}"
            ).format(session=session),
            hint,
        )
    return warning(
        "pcsc-access",
        _("pcscd probably refuses this session (polkit)"),
        _(
            "no card reader is seen while pcscd runs, pcsc-lite's polkit policy is installed "
            "and this is {session}, which its policy does not let in"
        ).format(session=session),
        hint,
    )


# --- the portal -----------------------------------------------------------

PROBE_SESSION = "eonay-doctor-probe"  # an unknown session: the API must answer 401


def check_portal(settings: Settings, timeout: float = 5.0) -> list[Check]:
    """Reach the portal with the app's own client: TLS verified, and the API answers.

    `GET /api/v1/e-onay` with a session the portal cannot know is harmless and
    must answer 401 `unauthorized`; anything else means the URL or the TLS
    setup is not what the app needs.
    """
    url = settings.portal_url
    if not url:
        return [
            warning(
                "portal",
                _("No portal URL configured"),
                "",
                _("Pass --portal URL, or set url in the [portal] section of the configuration."),
            )
        ]
    import httpx

    from tui.core.errors import (
        InsecureURLError,
        PortalError,
        PortalTimeoutError,
        PortalUnreachableError,
        TLSError,
        UnauthorizedError,
    )
    from tui.core.portal.client import PortalClient, RetryPolicy
    from tui.core.results import Session

    host = urlsplit(url).hostname or url
    tls_title = _("TLS of {host}").format(host=host)
    title = _("Portal: {url}").format(url=url)
    try:
        client = PortalClient.from_settings(
            settings, timeout=httpx.Timeout(timeout), retry=RetryPolicy(max_tries=1)
        )
    except InsecureURLError:
        return [
            error(
                "portal.tls",
                tls_title,
                _("plain http:// to another computer; the app refuses it"),
                _("Use the portal's https:// address."),
                url,
            )
        ]
    except ConfigError as exc:
        return [
            error(
                "portal",
                title,
                str(exc),
                _("Check the portal URL and the CA bundle (--portal, --ca-bundle, [portal])."),
                url,
            )
        ]
    https = urlsplit(url).scheme == "https"
    tls_ok = ok(
        "portal.tls",
        tls_title,
        _("certificate verified") if https else _("plain HTTP on this computer (loopback)"),
        url,
    )
    with client:
        try:
            client.e_onay_status(Session(PROBE_SESSION))
        except UnauthorizedError:
            return [tls_ok, ok("portal", title, _("the portal API v1 answers"), url)]
        except TLSError as exc:
            return [
                error(
                    "portal.tls",
                    tls_title,
                    _("the certificate could not be verified: {error}").format(error=exc),
                    _(
                        "If the portal uses a private CA, pass --ca-bundle PEM "
                        "(or [portal] ca_bundle). Check that this computer's clock is right."
                    ),
                    url,
                )
            ]
        except PortalTimeoutError as exc:
            return [
                error(
                    "portal",
                    _("The portal did not answer in time"),
                    str(exc),
                    _("Check the network connection and the portal URL."),
                    url,
                )
            ]
        except PortalUnreachableError as exc:
            return [
                error(
                    "portal",
                    _("The portal cannot be reached"),
                    str(exc),
                    _("Check the network connection, the firewall and the portal URL."),
                    url,
                )
            ]
        except PortalError as exc:
            answer = _("answered {code}").format(code=exc.code)
            if exc.status is not None:
                answer += f" (HTTP {exc.status})"
            return [
                tls_ok,
                warning(
                    "portal",
                    title,
                    _("reachable, but the API did not answer as expected: {answer}").format(
                        answer=answer
                    ),
                    _("Check that the URL is the portal's base URL (the part before api/v1/)."),
                    url,
                ),
            ]
    return [
        tls_ok,
        warning(
            "portal",
            title,
            _("reachable, but it accepted a session it cannot know"),
            _("Check that the URL is the portal's base URL (the part before api/v1/)."),
            url,
        ),
    ]


# --- the card -------------------------------------------------------------


@dataclass
class CardFindings:
    checks: list[Check] = field(default_factory=list)
    tokens_found: bool = False
    certificates: int = 0
    usable: int = 0
    remote: str | None = None  # the hint for "no card" when the card is behind p11-kit server
    pcsc_readers: int = 0  # slots shown by modules that use this machine's pcscd


CardProbe = Callable[[Sequence[ModuleCandidate], Settings], CardFindings]


def _missing_module_hint(candidate: ModuleCandidate) -> str:
    if candidate.source is Source.REMOTE:
        return _("Install p11-kit's client module (Debian: apt-get install p11-kit-modules).")
    if candidate.source is Source.P11KIT:
        return _(
            "The driver was removed but its p11-kit registration stayed: reinstall the "
            "driver or remove {origin}."
        ).format(origin=candidate.origin)
    return _(
        "Check the path; your card's driver may be installed elsewhere "
        "(see the README's \"Finding the card's driver\")."
    )


def check_module_file(candidate: ModuleCandidate) -> Check | None:
    """A failed check when the module file is not there, else None."""
    if candidate.exists:
        return None
    return error(
        "module",
        _("PKCS#11 module not found: {path}").format(path=candidate.path),
        describe_source(candidate),
        _missing_module_hint(candidate),
        candidate.path,
    )


def _explain_load_failure(path: str) -> str:
    """Why the dynamic loader or the PKCS#11 entry point refuses `path`, in its own words."""
    import ctypes

    try:
        library = ctypes.CDLL(path)
    except OSError as exc:
        return _("the system cannot load it: {error}").format(error=exc)
    if not hasattr(library, "C_GetFunctionList"):
        return _("it is a library, but not a PKCS#11 module (no C_GetFunctionList)")
    return ""


def _module_problem(
    candidate: ModuleCandidate, title: str, detail: str, hint: str, id: str = "module"
) -> Check:
    """Explicitly chosen modules that fail are errors; automatically found ones are warnings.

    A broken driver that was merely found must not fail the report when
    another module has the card; the `certificates` check catches the case
    where no module gives a usable certificate.
    """
    automatic = candidate.source in (Source.P11KIT, Source.WELL_KNOWN)
    make = warning if automatic else error
    return make(id, title, detail, hint, candidate.path)


_AKIS_HINT = N_(
    "This driver refuses C_Initialize arguments (CKR_ARGUMENTS_BAD), as AKIS drivers "
    "are known to. eonay initialises it with NULL arguments instead; nothing to do unless "
    "signing fails, then report the driver's version."
)


_STRICT_HINT = N_(
    "This driver refuses C_Initialize arguments (CKR_ARGUMENTS_BAD), as AKIS drivers are known "
    "to, and keeps refusing them even once initialised with NULL arguments, where PKCS#11 asks "
    "for CKR_CRYPTOKI_ALREADY_INITIALIZED. eonay initialises it with NULL arguments and calls "
    "it directly; nothing to do unless signing fails, then report the driver's version."
)


def _check_load(candidate: ModuleCandidate) -> tuple[Any, Check]:
    """Load and initialise one module: (the module or None, the check)."""
    from tui.core.card.pkcs11 import CkError, Pkcs11Module
    from tui.core.errors import InitializeArgsError, ModuleLoadError

    path = candidate.path
    source = describe_source(candidate)
    try:
        module = Pkcs11Module(path)
    except InitializeArgsError as exc:
        if exc.null_accepted:
            hint = _(
                "The driver accepts C_Initialize(NULL) but keeps answering CKR_ARGUMENTS_BAD "
                "to initialisation arguments even once initialised, where PKCS#11 asks for "
                "CKR_CRYPTOKI_ALREADY_INITIALIZED; eonay cannot use it. Install the driver's "
                "current version from its vendor (AKIS drivers are known to refuse "
                "arguments), and report its version."
            )
        else:
            hint = _(
                "The driver refuses C_Initialize with and without arguments (a problem known "
                "from AKIS drivers). Install the driver's current version from its vendor."
            )
        return None, _module_problem(
            candidate,
            _("PKCS#11 module does not initialise: {path}").format(path=path),
            f"{exc.detail}; {source}",
            hint,
        )
    except ModuleLoadError as exc:
        unloadable = _explain_load_failure(path)
        why = unloadable or exc.detail
        if candidate.source is Source.REMOTE:
            # p11-kit's client loads, and its C_Initialize fails (CKR_DEVICE_ERROR) when the
            # socket accepts but no p11-kit server answers behind it
            hint = _missing_module_hint(candidate) if unloadable else _(_SEE_SERVER_CHECK)
        else:
            hint = _(
                "Give the card's PKCS#11 driver (a .so built for this machine), e.g. "
                "--module /usr/lib/libakisp11.so; reinstall the driver if it is broken."
            )
        return None, _module_problem(
            candidate,
            _("PKCS#11 module cannot be loaded: {path}").format(path=path),
            f"{why}; {source}",
            hint,
        )
    try:
        info = module.library_info()
        about = f"{info.description} {info.version} ({info.manufacturer}, PKCS#11 " + (
            f"{info.cryptoki_version}); {source}"
        )
    except CkError as exc:
        about = f"C_GetInfo: {exc}; {source}"
    title = _("PKCS#11 module loads and initialises: {path}").format(path=path)
    if module.refuses_init_args:
        return module, warning("module", title, about, _(_STRICT_HINT), path)
    if module.null_init_args:
        return module, warning("module", title, about, _(_AKIS_HINT), path)
    return module, ok("module", title, about, path)


def _check_slots(
    module: Any, candidate: ModuleCandidate, findings: CardFindings, laptop: str = ""
) -> tuple[list[Any], Check]:
    """The module's slots (readers); returns the slots that hold a token.

    `laptop` is the hint when the module is p11-kit's client: the reader is on the laptop.
    """
    from tui.core.card.pkcs11 import CkError

    path = candidate.path
    remote = bool(laptop)
    try:
        slots = module.slots()
    except CkError as exc:
        return [], _module_problem(
            candidate,
            _("Cannot list the slots of {path}").format(path=path),
            str(exc),
            laptop or _("Unplug and plug in the card reader; restart pcscd."),
            id="slots",
        )
    if not slots:
        return [], _module_problem(
            candidate,
            _("No card reader (slot) seen by {path}").format(path=path),
            _("p11-kit's client reaches no card through the forwarded socket") if remote else "",
            laptop or _("Plug in the card reader and check that pcscd is running."),
            id="slots",
        )
    if Path(path).name not in _NOT_PCSC:
        # OpenSC may show one empty "Virtual hotplug slot" when it has no reader: not a reader
        findings.pcsc_readers += sum(s.description != _HOTPLUG_SLOT for s in slots)
    card_in, empty = _("card in"), _("empty")
    names = "; ".join(
        f"{slot.description} [{card_in if slot.token_present else empty}]" for slot in slots
    )
    with_token = [slot for slot in slots if slot.token_present]
    title = _("{count} slot(s) (readers), {cards} with a card: {path}").format(
        count=len(slots), cards=len(with_token), path=path
    )
    if not with_token:
        return [], warning("slots", title, names, _("Insert the card into the reader."), path)
    return with_token, ok("slots", title, names, path)


def _check_pin(token: Any, subject: str) -> Check:
    from PyKCS11 import CKF_USER_PIN_INITIALIZED, CKF_USER_PIN_TO_BE_CHANGED

    from tui.core.card_info import PinTries
    from tui.core.errors import PinLockedError

    title = _("PIN of {label}").format(label=token.label)
    state = token.pin_state
    flags = ", ".join(token.flag_names) or "-"
    if state.tries is PinTries.LOCKED:
        return error(
            "pin", _("PIN of {label} is locked").format(label=token.label), flags,
            PinLockedError().user_message(), subject,
        )  # fmt: skip
    if state.tries is PinTries.FINAL:
        return warning(
            "pin",
            _("PIN of {label}: one try left").format(label=token.label),
            flags,
            _("Type the PIN carefully: one more wrong PIN locks the card."),
            subject,
        )
    if state.tries is PinTries.LOW:
        return warning(
            "pin",
            _("PIN of {label}: wrong PINs were typed").format(label=token.label),
            flags,
            _("The card counts failed tries; a few more wrong PINs lock it."),
            subject,
        )
    if not token.flags & CKF_USER_PIN_INITIALIZED:
        return warning(
            "pin", title, _("the card has no user PIN set"),
            _("Set the PIN with your card's tools, or through the portal."), subject,
        )  # fmt: skip
    if token.flags & CKF_USER_PIN_TO_BE_CHANGED:
        return warning(
            "pin", title, _("the card asks for the PIN to be changed"),
            _("Change the PIN with your card's tools first."), subject,
        )  # fmt: skip
    return ok("pin", title, _("no failed tries reported; {flags}").format(flags=flags), subject)


_REASON_HINTS: dict[str, str] = {
    "expired": N_("Renew the certificate (Kamu SM: certificate renewal) and use the new card."),
    "not_yet_valid": N_("Wait until it becomes valid, or check this computer's date and time."),
    "not_qualified": N_(
        "Only a qualified electronic signature (NES) certificate can sign here; "
        "this one is for something else (e.g. authentication)."
    ),
    "no_private_key": N_("Its private key is not on this card: use the card it was issued on."),
    "pin_locked": N_("Unlock the PIN through the portal's Kilit Çözme page with your PUK."),
    "unsupported_key": N_("eonay signs with RSA and EC (P-256, P-384, P-521) keys only."),
}


def _check_certificate(cert: Any) -> Check:
    from tui.core.reasons import reason_text

    yes, no = _("yes"), _("no")
    title = _("Certificate {label}").format(label=cert.display_label)
    detail = _(
        "{serial}, issuer {issuer}, valid until {until}, {key}; qualified: {q}, valid now: {v}, "
        "key on the card: {k}"
    ).format(
        serial=cert.serial_masked,
        issuer=cert.issuer,
        until=cert.not_after.date().isoformat(),
        key=cert.key,
        q=yes if cert.qualified else no,
        v=yes if cert.valid_now else no,
        k=yes if cert.has_private_key else no,
    )
    if cert.usable:
        return ok("certificate", title + " — " + _("usable"), detail, cert.fingerprint_sha256)
    why = reason_text(cert.reason)
    hint = _(_REASON_HINTS[cert.reason]) if cert.reason in _REASON_HINTS else ""
    return warning(
        "certificate",
        title + " — " + _("cannot sign: {reason}").format(reason=why),
        detail,
        hint,
        cert.fingerprint_sha256,
    )


def _check_tokens(
    module: Any, candidate: ModuleCandidate, slots: Sequence[Any], findings: CardFindings
) -> None:
    """The tokens in `slots`, their PIN state, then the certificates they hold."""
    from PyKCS11 import CKF_TOKEN_INITIALIZED

    from tui.core.card.busy import busy_error
    from tui.core.card.pkcs11 import CkError
    from tui.core.card.pkcs11_card import Pkcs11Card, pin_pad
    from tui.core.errors import EonayError

    tokens = 0
    for slot in slots:
        try:
            token = module.token(slot.slot_id)
        except CkError as exc:
            busy = busy_error(module, slot.slot_id, exc)
            findings.checks.append(
                warning(
                    "token",
                    _("Cannot read the card in {slot}").format(slot=slot.description),
                    str(exc),
                    busy.user_message()
                    if busy is not None
                    else _("Take the card out and put it back; try another reader."),
                    f"{candidate.path}|{slot.slot_id}",
                )
            )
            continue
        if not token.flags & CKF_TOKEN_INITIALIZED:
            continue  # SoftHSM's spare slot, or a blank card: nothing to sign with
        subject = f"{candidate.path}|{token.serial}|{token.label}"
        tokens += 1
        findings.checks.append(
            ok(
                "token",
                _("Token {label}").format(label=token.label),
                _("{manufacturer} {model}, serial {serial}, PIN length {low}–{high}").format(
                    manufacturer=token.manufacturer,
                    model=token.model,
                    serial=token.serial,
                    low=token.min_pin,
                    high=token.max_pin,
                )
                + (
                    "; " + _("PIN pad reader: the PIN is typed on the reader's keypad")
                    if pin_pad(token)
                    else ""
                ),
                subject,
            )
        )
        findings.checks.append(_check_pin(token, subject))
    if not tokens:
        return
    findings.tokens_found = True
    card = Pkcs11Card([candidate.path], opener=lambda _path: module)
    try:
        certificates = card.certificates()
    except EonayError as exc:
        findings.checks.append(
            _module_problem(
                candidate,
                _("Cannot read the certificates through {path}").format(path=candidate.path),
                str(exc),
                exc.user_message(),
            )
        )
        return
    for cert in certificates:
        findings.checks.append(_check_certificate(cert))
        findings.certificates += 1
        findings.usable += int(cert.usable)


def probe_cards(candidates: Sequence[ModuleCandidate], settings: Settings) -> CardFindings:
    """Each module: is it there, does it load; its slots, tokens, PIN flags, certificates."""
    findings = CardFindings()
    for candidate in candidates:
        missing = check_module_file(candidate)
        if missing is not None:
            findings.checks.append(missing)
            continue
        address = address_of(candidate)
        laptop = ""
        if address is not None:
            server = check_remote_server(address)
            findings.checks.append(server)
            laptop = _REMOTE_NO_CARD if server.ok else _SEE_SERVER_CHECK
            findings.remote = _(laptop)
        module, loaded = _check_load(candidate)
        findings.checks.append(loaded)
        if module is None:
            continue
        try:
            slots, slot_check = _check_slots(
                module, candidate, findings, _(laptop) if laptop else ""
            )
            findings.checks.append(slot_check)
            _check_tokens(module, candidate, slots, findings)
        finally:
            module.close()
    if candidates:
        findings.checks.append(check_usable(findings))
    return findings


_SEE_SERVER_CHECK = N_(
    "The card is on the laptop: see the p11-kit server check above for what to do there."
)
_REMOTE_NO_CARD = N_(
    "The laptop's p11-kit server answers but shows no card: put the card in the laptop's "
    "reader, and check that the server was started for the card's module (`eonay ssh` "
    "picks it; `eonay doctor` on the laptop checks the card there)."
)


def check_remote_server(address: str) -> Check:
    """The ssh -R forward and the laptop's `p11-kit server` behind p11-kit's client module."""
    state = probe_server(address)
    title = _("p11-kit server on the laptop (P11_KIT_SERVER_ADDRESS)")
    subject = state.path or address
    if state.ok:
        return ok("p11kit-server", title, state.detail, subject)
    if state.link is Link.NOT_UNIX:
        return warning("p11kit-server", title, state.detail, laptop_hint(None), subject)
    return error("p11kit-server", title, state.detail, laptop_hint(state.path), subject)


def check_usable(findings: CardFindings) -> Check:
    """The one question that matters: can anything here sign?"""
    if findings.usable:
        return ok(
            "certificates",
            _("Certificates that can sign: {n}").format(n=findings.usable),
        )
    if not findings.tokens_found:
        return error(
            "certificates",
            _("No card found"),
            _("no module showed a token"),
            _(
                "Insert the card, check the reader and pcscd, and that the module is your "
                "card's driver (--module PATH)."
            )
            if findings.remote is None
            else findings.remote,
        )
    if not findings.certificates:
        return error(
            "certificates",
            _("No certificate on the card"),
            _("the token shows no certificate without a PIN"),
            _(
                "Check that this is your e-signature card; some drivers show a card only "
                "in their own slot, try the card vendor's module."
            ),
        )
    return error(
        "certificates",
        _("No certificate that can sign"),
        _("{n} certificate(s) found, none usable (see above why)").format(n=findings.certificates),
        _("Use a valid qualified signature (NES) certificate."),
    )


# --- everything -----------------------------------------------------------


def run_checks(
    args: Any = None,
    environ: Mapping[str, str] | None = None,
    paths: SearchPaths | None = None,
    card_probe: CardProbe | None = None,
    portal_timeout: float = 5.0,
) -> Report:
    """Every check, in the order a person would fix things."""
    env = os.environ if environ is None else environ
    settings, config_checks = load_settings_leniently(args, env)
    report = Report(settings=settings)
    for check in check_versions():
        report.add(check)
    for check in config_checks:
        report.add(check)
    report.add(check_log(settings, env))
    candidates = discover_for(settings, env, paths)
    report.add(check_discovery(candidates))
    findings = (card_probe or probe_cards)(candidates, settings)
    report.add(check_pcscd(candidates, env, findings.tokens_found))
    access = check_pcsc_access(candidates, env, findings)
    if access is not None:
        report.add(access)
    for check in findings.checks:
        report.add(check)
    for check in check_portal(settings, portal_timeout):
        report.add(check)
    return report


def checks_of(report: Report, id: str) -> Iterable[Check]:
    return (check for check in report.checks if check.id == id)
