"""Where the card's PKCS#11 module is: asked for, registered, or well known.

The most common trouble with Turkish e-signature cards is "the driver is
installed but my certificate is not seen", so the app looks where drivers
really land and says, for each module, where it came from.

Order, first that gives anything wins:
1. `--module` (repeatable),
2. the configuration file's `[card] modules`,
3. `EONAY_PKCS11_MODULE` (a list separated by `os.pathsep`),
4. `P11_KIT_SERVER_ADDRESS`: p11-kit's client module (the card is on another machine),
5. automatic: modules registered with p11-kit, then the well-known libraries
   of the cards used in Turkey; every one found is used, and their
   certificates are listed together.

Directories are parameters (`SearchPaths`) so tests never depend on what is
installed on the machine that runs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tui.core.settings import Settings

FLAG_ORIGIN = "--module"
ENV_MODULE = "EONAY_PKCS11_MODULE"
ENV_SERVER = "P11_KIT_SERVER_ADDRESS"
CLIENT_MODULE = "p11-kit-client.so"
_SKIPPED_P11KIT_MODULES = frozenset({"p11-kit-trust.so", "p11-kit-client.so", "p11-kit-proxy.so"})


class Source(StrEnum):
    FLAG = "flag"  # --module
    CONFIG = "config"  # [card] modules in the configuration file
    ENV = "env"  # EONAY_PKCS11_MODULE
    REMOTE = "p11-kit-server"  # P11_KIT_SERVER_ADDRESS -> p11-kit-client.so
    P11KIT = "p11-kit"  # a module registered with p11-kit
    WELL_KNOWN = "well-known"  # a known card driver found on disk


@dataclass(frozen=True)
class WellKnown:
    """A card driver looked for by file name."""

    name: str  # for people: which card or vendor
    filename: str


# The drivers of the cards used in Turkey, most common first.
WELL_KNOWN: tuple[WellKnown, ...] = (
    WellKnown("AKIS (Kamu SM)", "libakisp11.so"),
    WellKnown("SafeSign", "libaetpkss.so"),
    WellKnown("Gemalto IDPrime", "libIDPrimePKCS11.so"),
    WellKnown("SafeNet eToken", "libeTPkcs11.so"),
    WellKnown("OpenSC", "opensc-pkcs11.so"),
)


@dataclass(frozen=True)
class ModuleCandidate:
    """One PKCS#11 module to load, with where it came from (for doctor and hints)."""

    path: str
    source: Source
    origin: str  # the flag, file, variable or driver name that named it
    exists: bool


def _multiarch() -> str:
    import platform  # here: only discovery needs them, not a module given by flag
    import sysconfig

    value = sysconfig.get_config_var("MULTIARCH")
    if isinstance(value, str) and value:
        return value
    return f"{platform.machine()}-linux-gnu"


@dataclass(frozen=True)
class SearchPaths:
    """The directories discovery looks in; tests pass their own."""

    # p11-kit module configuration, system first; a later file of the same name wins
    p11kit_config_dirs: tuple[Path, ...]
    # where p11-kit resolves a relative `module:` name, and where p11-kit-client.so lives
    p11kit_module_dirs: tuple[Path, ...]
    # where card drivers install their library
    library_dirs: tuple[Path, ...]

    @classmethod
    def system(cls, environ: Mapping[str, str] | None = None) -> SearchPaths:
        env = os.environ if environ is None else environ
        arch = _multiarch()
        config_home = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")) / ".config")
        return cls(
            p11kit_config_dirs=(
                Path("/usr/share/p11-kit/modules"),
                Path("/etc/pkcs11/modules"),
                Path(config_home).expanduser() / "pkcs11" / "modules",
            ),
            p11kit_module_dirs=(
                Path(f"/usr/lib/{arch}/pkcs11"),
                Path("/usr/lib64/pkcs11"),
                Path("/usr/lib/pkcs11"),
                Path("/usr/local/lib/pkcs11"),
            ),
            library_dirs=(
                Path("/usr/lib"),
                Path("/usr/lib64"),
                Path("/usr/local/lib"),
                Path(f"/usr/lib/{arch}"),
                Path(f"/usr/lib/{arch}/pkcs11"),
                Path("/usr/lib/pkcs11"),
                Path("/usr/lib64/pkcs11"),
                Path("/opt/Akia"),  # where AKIS installers put libakisp11.so
                Path("/opt/Akia/lib"),
            ),
        )


def _explicit(paths: Iterable[str], source: Source, origin: str) -> list[ModuleCandidate]:
    out = []
    for raw in paths:
        path = str(Path(raw).expanduser()) if raw.startswith("~") else raw
        out.append(ModuleCandidate(path, source, origin, Path(path).is_file()))
    return out


def _split_env(value: str) -> list[str]:
    return [part.strip() for part in value.split(os.pathsep) if part.strip()]


def _module_line(text: str) -> str | None:
    """The value of the `module:` line of a p11-kit module config file."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "module":
            return value.strip() or None
    return None


def registered_with_p11kit(paths: SearchPaths) -> list[ModuleCandidate]:
    """Modules named by p11-kit's `*.module` files (the trust and client modules skipped)."""
    chosen: dict[str, Path] = {}  # config name -> file; user files override system ones
    for directory in paths.p11kit_config_dirs:
        try:
            files = sorted(directory.glob("*.module"))
        except OSError:
            continue
        for file in files:
            chosen[file.stem] = file
    out = []
    for name in sorted(chosen):
        file = chosen[name]
        try:
            module = _module_line(file.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if module is None or Path(module).name in _SKIPPED_P11KIT_MODULES:
            continue
        path = _resolve_relative(module, paths.p11kit_module_dirs)
        out.append(ModuleCandidate(path, Source.P11KIT, str(file), Path(path).is_file()))
    return out


def _resolve_relative(module: str, dirs: Sequence[Path]) -> str:
    if Path(module).is_absolute():
        return module
    for directory in dirs:
        if (directory / module).is_file():
            return str(directory / module)
    return str(dirs[0] / module) if dirs else module


def well_known(paths: SearchPaths) -> list[ModuleCandidate]:
    """The first copy found of each known card driver."""
    out = []
    for driver in WELL_KNOWN:
        for directory in paths.library_dirs:
            candidate = directory / driver.filename
            if candidate.is_file():
                out.append(ModuleCandidate(str(candidate), Source.WELL_KNOWN, driver.name, True))
                break
    return out


def client_module(paths: SearchPaths, address: str) -> ModuleCandidate:
    """p11-kit-client.so, which reaches a `p11-kit server` at `address`."""
    path = _resolve_relative(CLIENT_MODULE, paths.p11kit_module_dirs)
    return ModuleCandidate(path, Source.REMOTE, f"{ENV_SERVER}={address}", Path(path).is_file())


def _dedupe(candidates: Iterable[ModuleCandidate]) -> list[ModuleCandidate]:
    seen: set[str] = set()
    out = []
    for candidate in candidates:
        key = os.path.realpath(candidate.path) if candidate.exists else candidate.path
        if key not in seen:
            seen.add(key)
            out.append(candidate)
    return out


def discover(
    flag_modules: Sequence[str] = (),
    config_modules: Sequence[str] = (),
    config_origin: str = "configuration",
    environ: Mapping[str, str] | None = None,
    paths: SearchPaths | None = None,
) -> list[ModuleCandidate]:
    """The modules to use, in order, each with where it came from.

    Explicit choices (flag, configuration, environment) are returned even when
    the file is missing, so the user is told; automatic ones only when present.
    """
    env = os.environ if environ is None else environ
    if flag_modules:
        return _dedupe(_explicit(flag_modules, Source.FLAG, FLAG_ORIGIN))
    if config_modules:
        return _dedupe(_explicit(config_modules, Source.CONFIG, config_origin))
    search = SearchPaths.system(env) if paths is None else paths
    from_env = _split_env(env.get(ENV_MODULE, ""))
    if from_env:
        return _dedupe(_explicit(from_env, Source.ENV, ENV_MODULE))
    address = env.get(ENV_SERVER, "").strip()
    if address:
        return [client_module(search, address)]
    registered = [c for c in registered_with_p11kit(search) if c.exists]
    return _dedupe([*registered, *well_known(search)])


def discover_for(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    paths: SearchPaths | None = None,
) -> list[ModuleCandidate]:
    """`discover` with the modules the settings were given (by flag or file)."""
    from_flags = settings.modules_origin == FLAG_ORIGIN
    return discover(
        flag_modules=settings.modules if from_flags else (),
        config_modules=() if from_flags else settings.modules,
        config_origin=settings.modules_origin or "configuration",
        environ=environ,
        paths=paths,
    )


def module_paths(candidates: Iterable[ModuleCandidate]) -> list[str]:
    """The paths to hand to the card service."""
    return [candidate.path for candidate in candidates]
