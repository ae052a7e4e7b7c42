"""Settings from the configuration file, `EONAY_*` variables and flags.

Flags override the environment, which overrides the file, which overrides
the defaults of `Settings`. A key the app does not know, or a value it cannot
use, stops the app with a `ConfigError` that names the key and where it was
written (the file, the variable or the flag): a typo in a kiosk's
configuration must not silently turn kiosk mode off.

The file is TOML; its layout (see the README):

    [portal]  url, ca_bundle
    [card]    modules
    [ui]      language, theme, plain, screen_reader
    [kiosk]   enabled, idle_seconds, shuffle_keypad
    [text]    strict, scripts, and [text.allowlist] with a list of texts per purpose
    [log]     level, file

Each key has a variable `EONAY_<SECTION>_<KEY>` (e.g. `EONAY_KIOSK_IDLE_SECONDS`).
The modules are the exception: `EONAY_PKCS11_MODULE` comes after the file in
module discovery (see `tui.core.setup.modules`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.core.errors import ConfigError, UnsafeTextError, unsafe_reason_text
from tui.core.portal.address import AddressProblem, address_problem
from tui.core.settings import DEFAULT_ALLOWLIST, Settings
from tui.core.text import check_signable, script_known
from tui.i18n import _

APP_NAME = "eonay"
ENV_CONFIG = "EONAY_CONFIG"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LANGUAGES = ("tr", "en")
PURPOSES = ("login", "e-onay")
IDLE_SECONDS_RANGE = (10, 86400)
_THEME_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class BadValue(ValueError):
    """A value that cannot be used; the caller adds the key and the file."""


# --- where files are ------------------------------------------------------


def _home(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME")
    return Path(home) if home else Path.home()


def _xdg(environ: Mapping[str, str], variable: str, fallback: str) -> Path:
    value = environ.get(variable, "")
    if value and Path(value).is_absolute():  # the XDG spec: relative values are ignored
        return Path(value)
    return _home(environ) / fallback


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/eonay/config.toml`, by default `~/.config/eonay/config.toml`."""
    env = os.environ if environ is None else environ
    return _xdg(env, "XDG_CONFIG_HOME", ".config") / APP_NAME / "config.toml"


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/eonay`, by default `~/.local/state/eonay` (logs live here)."""
    env = os.environ if environ is None else environ
    return _xdg(env, "XDG_STATE_HOME", ".local/state") / APP_NAME


# --- one parser per kind of value -----------------------------------------


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadValue(_("expected a non-empty string"))
    return value.strip()


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise BadValue(_("expected true or false"))


def _url(value: object) -> str:
    """Not a web address at all: refused here. What the portal client would refuse of a
    web address (plain http:// to another computer, a user name, a query) is shown on the
    app's first screen (`tui.core.setup.settings_check`), by the same rule."""
    url = _text(value)
    if address_problem(url) in (AddressProblem.NOT_A_URL, AddressProblem.SCHEME_OR_HOST):
        raise BadValue(_("expected an https:// URL with a host name"))
    return url


def _language(value: object) -> str:
    lang = _text(value).lower()
    if lang not in LANGUAGES:
        raise BadValue(_("expected one of: {choices}").format(choices=", ".join(LANGUAGES)))
    return lang


def _theme(value: object) -> str:
    theme = _text(value)
    if not _THEME_NAME.match(theme):
        raise BadValue(_("expected a theme name such as textual-dark"))
    return theme


def _idle_seconds(value: object) -> int:
    low, high = IDLE_SECONDS_RANGE
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not low <= number <= high:
        raise BadValue(
            _("expected a whole number of seconds from {low} to {high}").format(low=low, high=high)
        )
    return number


def _log_level(value: object) -> str:
    level = _text(value).upper()
    if level not in LOG_LEVELS:
        raise BadValue(_("expected one of: {choices}").format(choices=", ".join(LOG_LEVELS)))
    return level


def _modules(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise BadValue(_("expected a list of paths to PKCS#11 modules"))
    return tuple(_text(item) for item in value)


def _scripts(value: object) -> tuple[str, ...]:
    """Unicode scripts allowed besides Latin: a TOML list, or names split by commas or spaces."""
    if isinstance(value, str):
        names: list[object] = [n for n in re.split(r"[,\s]+", value) if n]
    elif isinstance(value, list):
        names = list(value)
    else:
        raise BadValue(_("expected a list of Unicode script names such as Greek or Cyrillic"))
    scripts = []
    for name in names:
        if not isinstance(name, str) or not script_known(name.strip()):
            raise BadValue(
                _(
                    "unknown script {name}; expected Unicode script names such as Greek or Cyrillic"
                ).format(name=repr(name))
            )
        scripts.append(name.strip())
    return tuple(dict.fromkeys(scripts))


def _allowlist(value: object) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise BadValue(_("expected a table of purposes, each with a list of texts"))
    merged = {purpose: tuple(texts) for purpose, texts in DEFAULT_ALLOWLIST.items()}
    for purpose, texts in value.items():
        if purpose not in PURPOSES:
            raise BadValue(
                _("unknown purpose {purpose}; expected one of: {choices}").format(
                    purpose=purpose, choices=", ".join(PURPOSES)
                )
            )
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise BadValue(_("{purpose}: expected a list of texts").format(purpose=purpose))
        for text in texts:
            try:
                check_signable(text)
            except UnsafeTextError as exc:
                reason = " ".join(filter(None, (unsafe_reason_text(exc.reason), exc.where())))
                raise BadValue(
                    _("{purpose}: a text that could never be signed ({reason})").format(
                        purpose=purpose, reason=reason
                    )
                ) from None
        merged[purpose] = tuple(dict.fromkeys([*merged.get(purpose, ()), *texts]))
    return merged


# --- the keys -------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One configuration key: where it is in the file, its variable, how it is read."""

    section: str
    name: str
    field: str  # the Settings field it fills
    parse: Callable[[object], Any]
    is_path: bool = False  # relative to the configuration file; must exist when `must_exist`
    must_exist: bool = False
    env_aliases: tuple[str, ...] = ()
    from_env: bool = True

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def env_names(self) -> tuple[str, ...]:
        if not self.from_env:
            return ()
        canonical = f"EONAY_{self.section}_{self.name}".upper().replace("-", "_")
        return (canonical, *self.env_aliases)


KEYS: tuple[Key, ...] = (
    Key("portal", "url", "portal_url", _url, env_aliases=("EONAY_PORTAL",)),
    Key(
        "portal",
        "ca_bundle",
        "ca_bundle",
        _text,
        is_path=True,
        must_exist=True,
        env_aliases=("EONAY_CA_BUNDLE",),
    ),
    Key("card", "modules", "modules", _modules, from_env=False),
    Key("ui", "language", "language", _language, env_aliases=("EONAY_LANG",)),
    Key("ui", "theme", "theme", _theme),
    Key("ui", "plain", "plain", _bool),
    Key("ui", "screen_reader", "screen_reader", _bool),
    Key("kiosk", "enabled", "kiosk", _bool, env_aliases=("EONAY_KIOSK",)),
    Key("kiosk", "idle_seconds", "kiosk_idle_seconds", _idle_seconds),
    Key("kiosk", "shuffle_keypad", "shuffle_keypad", _bool),
    Key("text", "strict", "strict_text", _bool),
    Key("text", "scripts", "text_scripts", _scripts),
    Key("text", "allowlist", "allowlist", _allowlist, from_env=False),
    Key("log", "level", "log_level", _log_level),
    Key("log", "file", "log_file", _text, is_path=True),
)
_BY_SECTION: dict[str, dict[str, Key]] = {}
for _key in KEYS:
    _BY_SECTION.setdefault(_key.section, {})[_key.name] = _key


def environment_variables() -> list[str]:
    """Every `EONAY_*` variable the configuration reads (for docs and doctor)."""
    return [name for key in KEYS for name in key.env_names]


# --- reading --------------------------------------------------------------


def _error(where: str, key: str | None, problem: str) -> ConfigError:
    """`where: key: problem`, the source named once (a flag or a variable is both)."""
    if key is None or key == where:
        return ConfigError(f"{where}: {problem}", key=key, path=where)
    return ConfigError(f"{where}: {key}: {problem}", key=key, path=where)


def _path_value(key: Key, text: str, base: Path | None, where: str, name: str) -> Path:
    path = Path(text).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if key.must_exist and not path.is_file():
        raise _error(where, name, _("no such file: {path}").format(path=path))
    return path


def _convert(key: Key, raw: object, base: Path | None, where: str, name: str) -> Any:
    try:
        value = key.parse(raw)
    except BadValue as exc:
        problem = _("{problem} (got {value})").format(problem=exc, value=repr(raw))
        raise _error(where, name, problem) from None
    if key.is_path:
        return _path_value(key, value, base, where, name)
    return value


def read_file(path: Path) -> dict[str, Any]:
    """The Settings fields a configuration file sets; ConfigError for anything wrong."""
    import tomllib  # here: without a configuration file, start-up never needs it

    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _error(where, None, _("the configuration file does not exist")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(where, None, _("cannot read: {error}").format(error=exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise _error(where, None, _("not valid TOML: {error}").format(error=exc)) from None
    values: dict[str, Any] = {}
    for section, table in data.items():
        keys = _BY_SECTION.get(section)
        if keys is None:
            raise _error(where, section, _("unknown section"))
        if not isinstance(table, dict):
            raise _error(where, section, _("expected a [{section}] table").format(section=section))
        for name, raw in table.items():
            dotted = f"{section}.{name}"
            key = keys.get(name)
            if key is None:
                raise _error(where, dotted, _("unknown key"))
            values[key.field] = _convert(key, raw, path.parent, where, dotted)
    if "modules" in values:
        values["modules_origin"] = where
    return values


def read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The Settings fields `EONAY_*` variables set (unknown `EONAY_*` names are ignored)."""
    values: dict[str, Any] = {}
    for key in KEYS:
        for name in key.env_names:
            raw = environ.get(name)
            if raw is not None and raw != "":
                values[key.field] = _convert(key, raw, None, name, name)
                break
    return values


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The Settings fields the command-line flags set."""
    values: dict[str, Any] = {}
    flags: tuple[tuple[str, str, str], ...] = (
        ("portal", "--portal", "portal.url"),
        ("ca_bundle", "--ca-bundle", "portal.ca_bundle"),
        ("lang", "--lang", "ui.language"),
        ("log_level", "--log-level", "log.level"),
    )
    for attr, flag, dotted in flags:
        raw = getattr(args, attr, None)
        if raw is not None:
            section, name = dotted.split(".")
            key = _BY_SECTION[section][name]
            values[key.field] = _convert(key, raw, None, flag, flag)
    modules = getattr(args, "module", None)
    if modules:
        key = _BY_SECTION["card"]["modules"]
        values["modules"] = _convert(key, list(modules), None, "--module", "--module")
        values["modules_origin"] = "--module"
    if getattr(args, "kiosk", None):
        values["kiosk"] = True
    if getattr(args, "plain", None):
        values["plain"] = True
    if getattr(args, "screen_reader", None):
        values["screen_reader"] = True
    return values


def preferred(args: argparse.Namespace, environ: Mapping[str, str], dotted: str, flag: str) -> Any:
    """The value of key `dotted` from the flag (attribute `flag`), a variable or the file.

    Lenient: whatever else in them is wrong, and a wrong value of this key too,
    is told where the whole configuration is checked; None then, and when
    nothing sets the key.
    """
    section, name = dotted.split(".")
    key = _BY_SECTION[section][name]
    raws: list[object] = [getattr(args, flag, None)]
    raws += [environ.get(variable) for variable in key.env_names]
    for raw in raws:
        if raw is not None and raw != "":
            try:
                return key.parse(raw)
            except BadValue:
                return None
    path, explicit = config_path(args, environ)
    if not (explicit or path.is_file()):
        return None
    try:
        return read_file(path).get(key.field)
    except ConfigError:
        return None


def preferred_language(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """`ui.language`, known before the command line is parsed, so that its help and its
    errors, the configuration's among them, are in the language asked for.

    None: nothing asks (`tui.i18n.language_from_environment` decides).
    """
    language = preferred(args, environ, "ui.language", "lang")
    return language if isinstance(language, str) else None


def config_path(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[Path, bool]:
    """The configuration file to read, and whether it was asked for explicitly."""
    explicit = getattr(args, "config", None) or environ.get(ENV_CONFIG) or None
    if explicit:
        return Path(explicit).expanduser(), True
    return default_config_path(environ), False


def load_settings(
    args: argparse.Namespace | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge defaults < file < `EONAY_*` < flags into one Settings; ConfigError if wrong.

    The file is `--config`, else `$EONAY_CONFIG`, else the XDG path; a missing
    file is an error only when it was asked for.
    """
    namespace = args if args is not None else argparse.Namespace()
    env = os.environ if environ is None else environ
    path, explicit = config_path(namespace, env)
    values: dict[str, Any] = {}
    if explicit or path.is_file():
        values.update(read_file(path))
        values["config_path"] = path
    values.update(read_environment(env))
    values.update(_flag_values(namespace))
    known = {f.name for f in dataclasses.fields(Settings)}
    return Settings(**{name: value for name, value in values.items() if name in known})
