"""`eonay`'s parser: every subcommand listed, only the chosen one's module imported."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from tui.__main__ import SUBCOMMANDS, Parser, build_parser
from tui.commands import app
from tui.i18n import set_language


def test_help_lists_every_subcommand_with_its_line():
    set_language("en")
    text = build_parser().format_help()
    for name, (_module, help_text) in SUBCOMMANDS.items():
        assert name in text and help_text in text


def test_the_app_does_not_import_the_other_commands():
    code = (
        "import sys\n"
        "from tui.__main__ import build_parser\n"
        "build_parser().parse_args(['--portal', 'http://127.0.0.1:9/'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('tui.commands.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['tui.commands.app']"


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_a_chosen_subcommand_gets_all_its_flags(name, capsys):
    """The same help as a parser configured up front: the command's own flags, the global ones."""
    set_language("en")
    expected = Parser(prog=f"eonay {name}", description=SUBCOMMANDS[name][1])
    importlib.import_module(f"tui.commands.{SUBCOMMANDS[name][0]}").configure(expected)
    app.configure(expected, suppress=True)
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([name, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out == expected.format_help()


# --- the global flags, the environment and the file, through the real command --------------

MISSING_MODULE = "/nonexistent/libakisp11.so"
EN_MODULE = f"eonay: The card driver could not be loaded: {MISSING_MODULE}"
TR_MODULE = f"eonay: Kart sürücüsü yüklenemedi: {MISSING_MODULE}"


def eonay(tmp_path, *args: str, env: dict[str, str] | None = None, **options):
    """`python -m tui ARGS` with a Turkish LANG, no configuration file and no EONAY_* variable."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EONAY_", "LC_"))}
    base.update(
        LANG="tr_TR.UTF-8",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=base,
        timeout=60,
        **options,
    )


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--lang", "en", "certs", "--module", MISSING_MODULE], {}),
        (["certs", "--lang", "en", "--module", MISSING_MODULE], {}),
        (["certs", "--module", MISSING_MODULE], {"EONAY_LANG": "en"}),
        (["certs", "--module", MISSING_MODULE], {"EONAY_UI_LANGUAGE": "en"}),
        (["--module", MISSING_MODULE, "certs"], {"EONAY_LANG": "en"}),
    ],
)
def test_the_language_applies_to_certs_from_anywhere(tmp_path, args, env):
    assert eonay(tmp_path, "certs", "--module", MISSING_MODULE).stderr.strip() == TR_MODULE
    done = eonay(tmp_path, *args, env=env)
    assert done.returncode == 1
    assert done.stderr.strip() == EN_MODULE


def test_the_configuration_files_language_and_modules_apply_to_certs(tmp_path):
    config = tmp_path / "config" / "eonay" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[ui]\nlanguage = "en"\n[card]\nmodules = ["{MISSING_MODULE}"]\n')
    done = eonay(tmp_path, "certs")
    assert done.stderr.strip() == EN_MODULE
    other = tmp_path / "other.toml"
    other.write_text('[ui]\nlanguage = "tr"\n')
    for args in (["--config", str(other), "certs"], ["certs", "--config", str(other)]):
        done = eonay(tmp_path, *args, "--module", MISSING_MODULE)
        assert done.stderr.strip() == TR_MODULE, args


@pytest.mark.parametrize("where", ["before", "after"])
def test_every_subcommand_speaks_the_chosen_language(tmp_path, where):
    def run(command: str, *rest: str, lang: str) -> subprocess.CompletedProcess[str]:
        flag = ("--lang", lang)
        args = [*flag, command, *rest] if where == "before" else [command, *rest, *flag]
        return eonay(tmp_path, *args)

    sign = ("--cert-id", "zz", "--text-file", "t", "--nonce", "AA", "--out", "o")
    sign += ("--module", MISSING_MODULE)
    cases = [
        (("sign", *sign), "eonay: --cert-id must be hexadecimal", "onaltılık"),
        (("portal-sim", "--tls-cert", "c.pem"), "--tls-cert and --tls-key go together", "birlikte"),
        (("doctor", "--module", MISSING_MODULE), "problem(s) found", "sorun bulundu"),
        (("certs", "--module", MISSING_MODULE), EN_MODULE, "yüklenemedi"),
    ]
    for (command, *rest), english, turkish in cases:
        done = run(command, *rest, lang="en")
        assert english in done.stdout + done.stderr, (command, done.stdout, done.stderr)
        assert turkish not in done.stdout + done.stderr
        done = run(command, *rest, lang="tr")
        assert turkish in done.stdout + done.stderr, (command, done.stdout, done.stderr)


def test_the_app_without_a_subcommand_speaks_the_chosen_language(tmp_path):
    english = "eonay: give the portal's address with --portal URL"
    assert eonay(tmp_path, "--lang", "en").stderr.strip() == english
    assert eonay(tmp_path, env={"EONAY_LANG": "en"}).stderr.strip() == english
    assert "--portal URL" in eonay(tmp_path).stderr and english not in eonay(tmp_path).stderr


def test_the_demo_speaks_the_language_of_the_environment(tmp_path):
    """`EONAY_LANG=en eonay demo`: its first line, before the card is made, is English."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EONAY_", "LC_"))}
    env.update(
        LANG="tr_TR.UTF-8",
        EONAY_LANG="en",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        TMPDIR=str(tmp_path),  # what a stopped demo leaves behind goes with the test
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "demo"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert first.startswith("eonay demo: preparing a throwaway card and the portal simulator")


@pytest.mark.parametrize(
    ("args", "env", "source"),
    [
        (["--log-level", "bad", "certs"], {}, "--log-level"),
        (["certs", "--log-level", "bad"], {}, "--log-level"),
        (["--log-level", "bad", "--portal", "https://portal.example/"], {}, "--log-level"),
        (["certs"], {"EONAY_LOG_LEVEL": "bad"}, "EONAY_LOG_LEVEL"),
        (["demo"], {"EONAY_LOG_LEVEL": "bad"}, "EONAY_LOG_LEVEL"),
    ],
)
def test_an_error_names_its_source_once_in_the_chosen_language(tmp_path, args, env, source):
    done = eonay(tmp_path, "--lang", "en", *args, "--module", MISSING_MODULE, env=env)
    assert done.returncode == 2
    levels = "DEBUG, INFO, WARNING, ERROR, CRITICAL"
    assert done.stderr.strip() == f"eonay: {source}: expected one of: {levels} (got 'bad')"
    turkish = eonay(tmp_path, "--lang", "tr", *args, "--module", MISSING_MODULE, env=env)
    assert turkish.stderr.strip() == (
        f"eonay: {source}: şunlardan biri bekleniyordu: {levels} (verilen: 'bad')"
    )


def test_argparse_errors_are_in_the_chosen_language_and_name_the_flag_once(tmp_path):
    done = eonay(tmp_path, "--lang", "en", "portal-sim", "--ttl", "3600")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "eonay portal-sim: --ttl: expected seconds from 1 to 900 (got '3600')"
    )
    done = eonay(tmp_path, "sign", "--module")
    assert done.stderr.splitlines()[-1] == "eonay sign: --module: bir değer gerekli"
    assert done.stderr.startswith("kullanım: eonay sign")
    done = eonay(tmp_path, "--lang", "en", "certs", "--nope")
    assert done.stderr.splitlines()[-1] == "eonay: unknown arguments: --nope"


@pytest.mark.parametrize("command", [[], *([name] for name in SUBCOMMANDS)])
def test_help_follows_the_chosen_language_and_lists_every_log_level(tmp_path, command):
    english = eonay(tmp_path, "--lang", "en", *command, "--help")
    assert english.returncode == 0
    assert english.stdout.startswith("usage: eonay")
    assert "global options (before or after the command)" in english.stdout
    assert "language of the messages and of this help" in english.stdout
    levels = " ".join(english.stdout.split())  # argparse wraps the line
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in levels
    for turkish in (
        eonay(tmp_path, *command, "--help"),  # LANG is Turkish
        eonay(tmp_path, *command, "--help", env={"EONAY_LANG": "tr", "LANG": "en_US.UTF-8"}),
    ):
        assert turkish.stdout.startswith("kullanım: eonay")
        assert "genel seçenekler (komuttan önce ya da sonra)" in turkish.stdout
        assert "seçenekler:" in turkish.stdout and "options:" not in turkish.stdout
        assert "bu yardımı göster" in turkish.stdout
        assert "CRITICAL" in turkish.stdout
        # the placeholders too: `--module YOL`, as the Turkish messages write it
        assert "--module YOL" in turkish.stdout and "PATH" not in turkish.stdout
        assert "--log-level DÜZEY" in turkish.stdout and "LEVEL" not in turkish.stdout
    assert "--module PATH" in english.stdout and "--log-level LEVEL" in english.stdout


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--log-level", "INFO", "certs"], {}),
        (["certs", "--log-level", "info"], {}),
        (["certs"], {"EONAY_LOG_LEVEL": "INFO"}),
    ],
)
def test_the_log_level_applies_to_certs(tmp_path, args, env):
    """certs prints its log on stderr when a level is asked for, by flag or variable."""
    line = f"eonay: INFO eonay.certs: PKCS#11 modules: {MISSING_MODULE}"
    quiet = eonay(tmp_path, "--lang", "en", "certs", "--module", MISSING_MODULE)
    assert line not in quiet.stderr and quiet.stderr.strip() == EN_MODULE
    done = eonay(tmp_path, "--lang", "en", *args, "--module", MISSING_MODULE, env=env)
    assert done.stderr.splitlines() == [line, EN_MODULE]


def test_the_log_level_applies_to_the_simulator(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EONAY_", "LC_"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), LANG="en_US.UTF-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "--log-level", "INFO", "portal-sim"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        lines = [process.stderr.readline() for _ in range(2)]
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert lines[0].startswith("Portal simulator ready.")
    assert lines[1].startswith("INFO:") and "Started server process" in lines[1]


def test_a_trusted_root_that_cannot_be_read_is_named_once_with_its_flag(tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    missing = tmp_path / "missing.pem"
    done = eonay(tmp_path, "--lang", "en", "portal-sim", "--trust", str(missing))
    assert done.returncode == 2
    assert done.stderr == (
        f"eonay portal-sim: --trust: cannot read {missing}: No such file or directory\n"
    )
    done = eonay(tmp_path, "portal-sim", "--trust", str(junk), "--lang", "en")
    assert done.stderr == f"eonay portal-sim: --trust: {junk} holds no PEM certificate\n"
    done = eonay(tmp_path, "portal-sim", "--trust", str(junk))  # LANG is Turkish
    assert done.returncode == 2
    assert done.stderr.startswith("eonay portal-sim: --trust: ") and "PEM sertifika" in done.stderr


@pytest.mark.parametrize(
    "args", [["--lang", "en", "demo"], ["demo", "--lang", "en"]], ids=["before", "after"]
)
def test_the_demo_speaks_the_language_of_its_flag(tmp_path, args):
    """`eonay --lang en demo` and `eonay demo --lang en`: English from the first line on
    (the screens: tests/e2e/test_demo_language.py)."""
    done = eonay(tmp_path, *args, "--ttl", "0")  # stopped by its own flag, in English
    assert (
        done.stderr.splitlines()[-1]
        == "eonay demo: --ttl: expected seconds from 1 to 900 (got '0')"
    )
