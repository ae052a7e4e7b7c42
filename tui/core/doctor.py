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
import ssl
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from tui import __version__
from tui.core.config import ENV_CONFIG, default_config_path, load_settings
from tui.core.errors import ConfigError
from tui.core.modules import ModuleCandidate, SearchPaths, Source, discover_for
from tui.core.settings import Settings
from tui.i18n import _

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
    from tui.core.logs import log_path

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
    Source.FLAG: "--module",
    Source.CONFIG: "configuration",
    Source.ENV: "EONAY_PKCS11_MODULE",
    Source.REMOTE: "P11_KIT_SERVER_ADDRESS",
    Source.P11KIT: "p11-kit",
    Source.WELL_KNOWN: "well-known driver",
}


def describe_source(candidate: ModuleCandidate) -> str:
    return _("found by {source}: {origin}").format(
        source=_(_SOURCE_TEXT[candidate.source]), origin=candidate.origin
    )


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


# --- the portal -----------------------------------------------------------

PROBE_PATH = "api/v1/e-onay"  # harmless: without a session it must answer 401
_MAX_PROBE_BODY = 65536


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tls_context(settings: Settings) -> ssl.SSLContext:
    if settings.ca_bundle is not None:
        return ssl.create_default_context(cafile=str(settings.ca_bundle))
    return ssl.create_default_context()


def _verify_failure(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error under an httpx exception, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def check_portal(settings: Settings, timeout: float = 5.0) -> list[Check]:
    """Can the portal be reached, is its TLS certificate trusted, does the API answer?"""
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
    parts = urlsplit(url)
    host = parts.hostname or ""
    base = url if url.endswith("/") else url + "/"
    probe = urljoin(base, PROBE_PATH)
    tls_title = _("TLS of {host}").format(host=host)
    if parts.scheme == "http" and not _is_loopback(host):
        return [
            error(
                "portal.tls",
                tls_title,
                _("plain http:// to another computer; the app refuses it"),
                _("Use the portal's https:// address."),
                url,
            )
        ]
    import httpx

    try:
        context = _tls_context(settings)
    except (OSError, ssl.SSLError) as exc:
        return [
            error(
                "portal.tls",
                tls_title,
                _("the CA bundle cannot be used: {error}").format(error=exc),
                _("Point --ca-bundle (or [portal] ca_bundle) at a PEM file of CA certificates."),
                url,
            )
        ]
    tls_version: str | None = None
    try:
        with (
            httpx.Client(verify=context, timeout=timeout) as client,
            client.stream("GET", probe) as response,
        ):
            stream = response.extensions.get("network_stream")
            ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
            if ssl_object is not None:
                tls_version = ssl_object.version()
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > _MAX_PROBE_BODY:
                    break
            status = response.status_code
            content_type = response.headers.get("content-type", "")
    except httpx.TimeoutException:
        return [
            error(
                "portal",
                _("The portal did not answer in time"),
                _("no answer from {url} within {seconds} s").format(url=probe, seconds=timeout),
                _("Check the network connection and the portal URL."),
                url,
            )
        ]
    except httpx.HTTPError as exc:
        failure = _verify_failure(exc)
        if failure is not None and parts.scheme == "https":
            return [
                error(
                    "portal.tls",
                    tls_title,
                    _("the certificate could not be verified: {error}").format(
                        error=getattr(failure, "verify_message", None) or failure
                    ),
                    _(
                        "If the portal uses a private CA, pass --ca-bundle PEM "
                        "(or [portal] ca_bundle). Check that this computer's clock is right."
                    ),
                    url,
                )
            ]
        return [
            error(
                "portal",
                _("The portal cannot be reached"),
                f"{probe}: {exc}",
                _("Check the network connection, a proxy (HTTPS_PROXY) and the portal URL."),
                url,
            )
        ]
    checks: list[Check] = []
    if parts.scheme == "https":
        detail = _("{version}, certificate verified").format(version=tls_version or "TLS")
        if settings.ca_bundle is not None:
            detail += " " + _("(CA bundle {path})").format(path=settings.ca_bundle)
        checks.append(ok("portal.tls", tls_title, detail, url))
    else:
        checks.append(ok("portal.tls", tls_title, _("plain HTTP on this computer (loopback)"), url))
    title = _("Portal: {url}").format(url=url)
    if status == 401 and _is_api_error(body, content_type, "unauthorized"):
        checks.append(ok("portal", title, _("the portal API v1 answers"), url))
    else:
        checks.append(
            warning(
                "portal",
                title,
                _("reachable, but {url} answered HTTP {status}, not the API's 401").format(
                    url=probe, status=status
                ),
                _("Check that the URL is the portal's base URL (the part before api/v1/)."),
                url,
            )
        )
    return checks


def _is_api_error(body: bytes, content_type: str, code: str) -> bool:
    import json

    if "json" not in content_type:
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(data, dict)
        and isinstance(data.get("error"), dict)
        and (data["error"].get("code") == code)
    )


# --- the card -------------------------------------------------------------


@dataclass
class CardFindings:
    checks: list[Check] = field(default_factory=list)
    tokens_found: bool = False


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


def probe_cards(candidates: Sequence[ModuleCandidate], settings: Settings) -> CardFindings:
    """Each module: is it there, does it load; its slots, tokens, PIN flags, certificates."""
    findings = CardFindings()
    for candidate in candidates:
        missing = check_module_file(candidate)
        if missing is not None:
            findings.checks.append(missing)
    return findings


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
    for check in findings.checks:
        report.add(check)
    for check in check_portal(settings, portal_timeout):
        report.add(check)
    return report


def checks_of(report: Report, id: str) -> Iterable[Check]:
    return (check for check in report.checks if check.id == id)
