"""Configuration: file < EONAY_* < flags, and errors that name the key and the file."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from tui.core.errors import ConfigError
from tui.core.settings import Settings
from tui.core.setup.config import (
    default_config_path,
    environment_variables,
    load_settings,
    state_dir,
)
from tui.core.text import LOGIN_TEXT

README = Path(__file__).resolve().parents[2] / "README.md"


def flags(**values: object) -> argparse.Namespace:
    """A namespace shaped like the app's parser output (unset flags are None)."""
    base: dict[str, object] = {
        "portal": None,
        "module": None,
        "lang": None,
        "ca_bundle": None,
        "config": None,
        "kiosk": None,
        "log_level": None,
    }
    base.update(values)
    return argparse.Namespace(**base)


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An environment whose HOME and XDG dirs are empty temporary directories."""
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
    }


def write_config(env: dict[str, str], text: str) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "eonay" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_the_defaults(home: dict[str, str]) -> None:
    settings = load_settings(flags(), home)
    assert settings == Settings()
    assert settings.config_path is None


def test_paths_follow_xdg(home: dict[str, str], tmp_path: Path) -> None:
    assert default_config_path(home) == tmp_path / "xdg-config" / "eonay" / "config.toml"
    assert state_dir(home) == tmp_path / "xdg-state" / "eonay"
    bare = {"HOME": home["HOME"]}
    assert default_config_path(bare) == Path(home["HOME"]) / ".config" / "eonay" / "config.toml"
    assert state_dir(bare) == Path(home["HOME"]) / ".local" / "state" / "eonay"
    # the XDG spec says relative values are to be ignored
    relative = {**bare, "XDG_CONFIG_HOME": "relative/dir"}
    assert default_config_path(relative) == Path(home["HOME"]) / ".config/eonay/config.toml"


def test_every_key_is_read_from_the_xdg_file(home: dict[str, str], tmp_path: Path) -> None:
    bundle = tmp_path / "xdg-config" / "eonay" / "ca.pem"
    bundle.parent.mkdir(parents=True)
    bundle.write_text("not parsed here")
    path = write_config(
        home,
        """
[portal]
url = "https://portal.example/"
ca_bundle = "ca.pem"            # relative to the file

[card]
modules = ["/usr/lib/libakisp11.so", "/opt/x/libeTPkcs11.so"]

[ui]
language = "en"
theme = "nord"

[kiosk]
enabled = true
idle_seconds = 45
shuffle_keypad = true

[text]
strict = false

[text.allowlist]
e-onay = ["E-Onay metnini onaylıyorum."]

[log]
level = "debug"
file = "/tmp/somewhere/eonay.log"
""",
    )
    s = load_settings(flags(), home)
    assert s.config_path == path
    assert s.portal_url == "https://portal.example/"
    assert s.ca_bundle == bundle
    assert s.modules == ("/usr/lib/libakisp11.so", "/opt/x/libeTPkcs11.so")
    assert s.modules_origin == str(path)
    assert s.language == "en"
    assert s.theme == "nord"
    assert s.kiosk is True
    assert s.kiosk_idle_seconds == 45
    assert s.shuffle_keypad is True
    assert s.strict_text is False and s.strict is False
    # the shipped login text stays; the configured e-onay text is added
    assert s.allowlist["login"] == (LOGIN_TEXT,)
    assert s.allowlist["e-onay"] == ("E-Onay metnini onaylıyorum.",)
    assert s.log_level == "DEBUG"
    assert s.log_file == Path("/tmp/somewhere/eonay.log")


def test_kiosk_turns_strict_mode_on_unless_told_otherwise(home: dict[str, str]) -> None:
    write_config(home, "[kiosk]\nenabled = true\n")
    assert load_settings(flags(), home).strict is True
    write_config(home, "[kiosk]\nenabled = true\n[text]\nstrict = false\n")
    assert load_settings(flags(), home).strict is False
    write_config(home, "[text]\nstrict = true\n")
    assert load_settings(flags(), home).strict is True


def test_environment_overrides_the_file(home: dict[str, str]) -> None:
    write_config(
        home,
        '[portal]\nurl = "https://file.example/"\n[ui]\nlanguage = "tr"\n'
        "[kiosk]\nidle_seconds = 300\nshuffle_keypad = false\n[log]\nlevel = 'ERROR'\n",
    )
    env = {
        **home,
        "EONAY_PORTAL_URL": "https://env.example/",
        "EONAY_UI_LANGUAGE": "en",
        "EONAY_KIOSK_IDLE_SECONDS": "60",
        "EONAY_KIOSK_SHUFFLE_KEYPAD": "yes",
        "EONAY_LOG_LEVEL": "info",
        "EONAY_SOMETHING_ELSE": "ignored: other tools use EONAY_ names too",
    }
    s = load_settings(flags(), env)
    assert s.portal_url == "https://env.example/"
    assert s.language == "en"
    assert s.kiosk_idle_seconds == 60
    assert s.shuffle_keypad is True
    assert s.log_level == "INFO"


def test_flags_override_environment_and_file(home: dict[str, str], tmp_path: Path) -> None:
    bundle = tmp_path / "flag-ca.pem"
    bundle.write_text("x")
    write_config(
        home,
        '[portal]\nurl = "https://file.example/"\n[card]\nmodules = ["/file.so"]\n'
        '[ui]\nlanguage = "en"\n[kiosk]\nenabled = false\n[log]\nlevel = "ERROR"\n',
    )
    env = {
        **home,
        "EONAY_PORTAL_URL": "https://env.example/",
        "EONAY_LANG": "en",
        "EONAY_LOG_LEVEL": "INFO",
    }
    s = load_settings(
        flags(
            portal="https://flag.example/",
            module=["/a.so", "/b.so"],
            lang="tr",
            ca_bundle=str(bundle),
            kiosk=True,
            log_level="debug",
        ),
        env,
    )
    assert s.portal_url == "https://flag.example/"
    assert s.modules == ("/a.so", "/b.so")
    assert s.modules_origin == "--module"
    assert s.language == "tr"
    assert s.ca_bundle == bundle
    assert s.kiosk is True
    assert s.log_level == "DEBUG"


def test_unset_flags_do_not_override(home: dict[str, str]) -> None:
    write_config(home, "[kiosk]\nenabled = true\n")
    # --kiosk is store_true with default None: absent means "not said", not "off"
    assert load_settings(flags(kiosk=None), home).kiosk is True
    # a namespace without the app's flags at all (another subcommand) works too
    assert load_settings(argparse.Namespace(), home).kiosk is True


def test_config_flag_and_variable_pick_another_file(home: dict[str, str], tmp_path: Path) -> None:
    write_config(home, '[ui]\nlanguage = "tr"\n')
    other = tmp_path / "other.toml"
    other.write_text('[ui]\nlanguage = "en"\n')
    s = load_settings(flags(config=str(other)), home)
    assert s.language == "en" and s.config_path == other
    s = load_settings(flags(), {**home, "EONAY_CONFIG": str(other)})
    assert s.language == "en" and s.config_path == other


def test_a_missing_file_asked_for_is_an_error(home: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_settings(flags(config=str(missing)), home)
    assert info.value.path == str(missing)
    assert str(missing) in info.value.user_message()


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[ui]\ncolour = "red"\n', "ui.colour"),
        ('[display]\nlanguage = "en"\n', "display"),
        ("[kiosk]\nidle = 30\n", "kiosk.idle"),
        ('portal = "https://x.example/"\n', "portal"),
    ],
)
def test_an_unknown_key_names_the_key_and_the_file(
    home: dict[str, str], toml: str, key: str
) -> None:
    path = write_config(home, toml)
    with pytest.raises(ConfigError) as info:
        load_settings(flags(), home)
    assert info.value.key == key
    assert info.value.path == str(path)
    message = info.value.user_message()
    assert key in message and str(path) in message


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[kiosk]\nidle_seconds = "abc"\n', "kiosk.idle_seconds"),
        ("[kiosk]\nidle_seconds = 5\n", "kiosk.idle_seconds"),
        ("[kiosk]\nidle_seconds = true\n", "kiosk.idle_seconds"),
        ("[kiosk]\nidle_seconds = 12.5\n", "kiosk.idle_seconds"),
        ('[kiosk]\nenabled = "maybe"\n', "kiosk.enabled"),
        ("[kiosk]\nshuffle_keypad = 1\n", "kiosk.shuffle_keypad"),
        ('[ui]\nlanguage = "de"\n', "ui.language"),
        ('[ui]\ntheme = "no such; theme"\n', "ui.theme"),
        ('[portal]\nurl = "ftp://portal.example/"\n', "portal.url"),
        ('[portal]\nurl = "https://"\n', "portal.url"),
        ('[portal]\nurl = "https://portal.example:port/"\n', "portal.url"),
        ('[portal]\nca_bundle = "/no/such/bundle.pem"\n', "portal.ca_bundle"),
        ('[card]\nmodules = "/usr/lib/libakisp11.so"\n', "card.modules"),
        ("[card]\nmodules = []\n", "card.modules"),
        ("[card]\nmodules = [1]\n", "card.modules"),
        ('[log]\nlevel = "LOUD"\n', "log.level"),
        ("[text]\nstrict = 2\n", "text.strict"),
        ('[text.allowlist]\nlogout = ["Çıkış"]\n', "text.allowlist"),
        ('[text.allowlist]\nlogin = "one text"\n', "text.allowlist"),
        ('[text.allowlist]\nlogin = ["hidden\\u200btext"]\n', "text.allowlist"),
        ('[text]\nscripts = ["Klingon"]\n', "text.scripts"),
        ('[text]\nscripts = ["Greek", "Common"]\n', "text.scripts"),
        ('[text]\nscripts = ["Greek}|\\\\p{L"]\n', "text.scripts"),
        ("[text]\nscripts = 3\n", "text.scripts"),
    ],
)
def test_a_bad_value_names_the_key_and_the_file(home: dict[str, str], toml: str, key: str) -> None:
    path = write_config(home, toml)
    with pytest.raises(ConfigError) as info:
        load_settings(flags(), home)
    assert info.value.key == key
    assert info.value.path == str(path)
    message = info.value.user_message()
    assert f"{path}: {key}: " in message


def test_not_toml_names_the_file_and_the_line(home: dict[str, str]) -> None:
    path = write_config(home, "[ui]\nlanguage = en\n")
    with pytest.raises(ConfigError) as info:
        load_settings(flags(), home)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    assert "line 2" in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EONAY_KIOSK_IDLE_SECONDS", "soon"),
        ("EONAY_KIOSK", "perhaps"),
        ("EONAY_UI_LANGUAGE", "fr"),
        ("EONAY_PORTAL_URL", "portal.example"),
        ("EONAY_LOG_LEVEL", "chatty"),
        ("EONAY_PORTAL_CA_BUNDLE", "/no/such.pem"),
        ("EONAY_TEXT_SCRIPTS", "Greek,Elvish"),
    ],
)
def test_a_bad_environment_value_names_the_variable(
    home: dict[str, str], name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(flags(), {**home, name: value})
    assert info.value.key == name
    assert name in info.value.user_message()


@pytest.mark.parametrize(
    ("flag", "attr", "value"),
    [
        ("--portal", "portal", "not a url"),
        ("--log-level", "log_level", "LOUD"),
        ("--ca-bundle", "ca_bundle", "/no/such.pem"),
    ],
)
def test_a_bad_flag_value_names_the_flag(
    home: dict[str, str], flag: str, attr: str, value: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(flags(**{attr: value}), home)
    assert info.value.key == flag
    assert flag in info.value.user_message()


def test_every_variable_follows_the_naming_rule() -> None:
    names = environment_variables()
    for name in names:
        assert re.fullmatch(r"EONAY_[A-Z_]+", name)
    for expected in (
        "EONAY_PORTAL_URL",
        "EONAY_PORTAL_CA_BUNDLE",
        "EONAY_UI_LANGUAGE",
        "EONAY_UI_THEME",
        "EONAY_KIOSK_ENABLED",
        "EONAY_KIOSK_IDLE_SECONDS",
        "EONAY_KIOSK_SHUFFLE_KEYPAD",
        "EONAY_TEXT_STRICT",
        "EONAY_TEXT_SCRIPTS",
        "EONAY_LOG_LEVEL",
        "EONAY_LOG_FILE",
    ):
        assert expected in names


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1]
    match = re.search(r"```toml\n(.*?)```", section, re.S)
    assert match, "the README's Configuration section has a TOML example"
    return match.group(1)


def test_the_readme_example_is_a_valid_configuration(home: dict[str, str]) -> None:
    write_config(home, readme_example())
    s = load_settings(flags(), home)
    assert s.portal_url is not None
    assert s.kiosk_idle_seconds == 120


def test_the_readme_lists_every_variable() -> None:
    text = README.read_text(encoding="utf-8")
    for name in environment_variables():
        assert name in text, name


def test_scripts_allowed_besides_latin_from_the_file_or_the_environment(
    home: dict[str, str],
) -> None:
    """`[text] scripts` names Unicode scripts in any spelling the standard has (Greek, Grek)."""
    assert load_settings(flags(), home).text_scripts == ()
    write_config(home, '[text]\nscripts = ["Greek", "Cyrl"]\n')
    assert load_settings(flags(), home).text_scripts == ("Greek", "Cyrl")
    env = {**home, "EONAY_TEXT_SCRIPTS": "Armenian, Georgian"}
    assert load_settings(flags(), env).text_scripts == ("Armenian", "Georgian")


def test_an_unknown_script_is_named_with_the_key_and_the_file(home: dict[str, str]) -> None:
    path = write_config(home, '[text]\nscripts = ["Greek", "Elvish"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(flags(), home)
    message = info.value.user_message()
    assert f"{path}: text.scripts: " in message and "Elvish" in message
