"""Settings that cannot work, found before anyone types a code.

A wrong portal address or card driver used to be found only at the step that
needed it, after a verification code had been typed (and, for the driver,
spent). These checks are cheap enough for start-up: the portal address's form
(the client's own rule, `tui.core.portal.address`), and for each card driver a
`stat` and the first bytes of the file: that it exists, can be read, and is a
shared library for this computer. Loading the driver stays with the card
process; `eonay doctor` goes further.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.core.errors import EonayError
from tui.core.portal.address import AddressProblem, address_problem
from tui.core.setup.modules import ModuleCandidate, Source
from tui.i18n import _

# The sources a person chose (a problem there is always told); the others were found
# automatically, and only matter when no module at all can be used.
CHOSEN = frozenset({Source.FLAG, Source.CONFIG, Source.ENV, Source.REMOTE})

_ELF_MAGIC = b"\x7fELF"
_ET_DYN = 3  # a shared object
_HEADER = 20  # up to e_machine


@dataclass(frozen=True)
class SettingProblem:
    """One setting that cannot work: what is wrong, and what to do about it."""

    problem: str
    fix: str

    def text(self) -> str:
        return f"{self.problem}\n→ {self.fix}"


class SettingsError(EonayError):
    """A code is not looked up while a setting cannot work (the problems are on the screen)."""

    code = "settings"

    def __init__(self, problems: Sequence[SettingProblem]) -> None:
        super().__init__("; ".join(p.problem for p in problems))
        self.problems = tuple(problems)

    def user_message(self) -> str:
        return _(
            "The code was not looked up, so it is still good: first fix the settings "
            "shown above, then start eonay again."
        )


def portal_problem(url: str) -> SettingProblem | None:
    if not url:
        return SettingProblem(
            _("No portal address is set."),
            _("Start eonay with --portal https://… (or set url in [portal])."),
        )
    problem = address_problem(url)
    if problem is None:
        return None
    if problem is AddressProblem.PLAIN_HTTP:
        return SettingProblem(
            _("The portal address {url} uses plain http:// to another computer.").format(url=url),
            _(
                "Plain http:// is allowed only for this computer; start eonay with the portal's "
                "https:// address (--portal, or url in [portal])."
            ),
        )
    what = {
        AddressProblem.NOT_A_URL: _("The portal address {url} is not a web address."),
        AddressProblem.SCHEME_OR_HOST: _("The portal address {url} is not https:// with a host."),
        AddressProblem.USERINFO: _("The portal address {url} holds a user name or password."),
        AddressProblem.QUERY_OR_FRAGMENT: _("The portal address {url} has a ? or # part."),
    }[problem]
    return SettingProblem(
        what.format(url=url),
        _(
            "Start eonay with the portal's base address, such as https://portal.example/ "
            "(--portal, or url in [portal])."
        ),
    )


def _this_computer() -> bytes | None:
    """The ELF class, byte order and machine of the running Python: a library must match."""
    try:
        header = _read_header(os.path.realpath(sys.executable))
    except OSError:
        return None
    if header[:4] != _ELF_MAGIC:
        return None  # not an ELF system: only existence and reading are checked
    return _machine(header)


def _read_header(path: str) -> bytes:
    with Path(path).open("rb") as file:
        return file.read(_HEADER)


def _machine(header: bytes) -> bytes:
    return header[4:6] + header[18:20]  # class, byte order; e_machine


def _is_shared_object(header: bytes) -> bool:
    if len(header) < _HEADER or header[:4] != _ELF_MAGIC:
        return False
    order = "<" if header[5] == 1 else ">"
    (e_type,) = struct.unpack(order + "H", header[16:18])
    return bool(e_type == _ET_DYN)


def module_problem(candidate: ModuleCandidate, machine: bytes | None) -> str | None:
    """What keeps this card driver from loading, as far as a look at the file tells."""
    path = candidate.path
    if not os.path.lexists(path):
        return _("The card driver {path} does not exist.").format(path=path)
    if not Path(path).is_file():
        return _("The card driver {path} is not a file.").format(path=path)
    try:
        header = _read_header(path)
    except OSError as err:
        return _("The card driver {path} cannot be read: {error}").format(
            path=path, error=err.strerror or err
        )
    if machine is None:
        return None
    if not _is_shared_object(header):
        return _("The card driver {path} is not a shared library (.so).").format(path=path)
    if _machine(header) != machine:
        return _("The card driver {path} is built for another kind of computer.").format(path=path)
    return None


def _origin_text(candidate: ModuleCandidate) -> str:
    if candidate.source is Source.FLAG:
        return _("given with --module")
    if candidate.source is Source.CONFIG:
        return _("from [card] modules in {file}").format(file=candidate.origin)
    if candidate.source is Source.ENV:
        return _("from EONAY_PKCS11_MODULE")
    if candidate.source is Source.REMOTE:
        return _("for the card on another computer ({origin})").format(origin=candidate.origin)
    return _("found on this computer")


def modules_problems(candidates: Sequence[ModuleCandidate]) -> list[SettingProblem]:
    """Drivers a person chose that cannot load; found ones only when none at all can."""
    machine = _this_computer()
    found = [(c, module_problem(c, machine)) for c in candidates]
    bad = [(c, problem) for c, problem in found if problem is not None]
    if len(bad) < len(found):
        bad = [(c, problem) for c, problem in bad if c.source in CHOSEN]
    out = []
    for candidate, problem in bad:
        assert problem is not None
        if candidate.source is Source.REMOTE:
            fix = _("Install p11-kit's client module (Debian: apt-get install p11-kit-modules).")
        else:
            fix = _(
                "Give the path of your card's driver (--module PATH, [card] modules or "
                "EONAY_PKCS11_MODULE); `eonay doctor` shows the drivers it finds."
            )
        out.append(SettingProblem(f"{problem} ({_origin_text(candidate)})", fix))
    return out


def settings_problems(
    portal_url: str, candidates: Sequence[ModuleCandidate]
) -> tuple[SettingProblem, ...]:
    """Every setting that cannot work, the portal's first; empty when all may."""
    problems = []
    portal = portal_problem(portal_url)
    if portal is not None:
        problems.append(portal)
    problems.extend(modules_problems(candidates))
    return tuple(problems)
