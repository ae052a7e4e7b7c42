"""The `eonay` command: parse flags, pick the subcommand, import only what it needs.

The global flags (`tui.commands.app.configure`) are on `eonay` and on every
subcommand, before or after its name. The language is chosen before the
parser is built (flag, `EONAY_*`, configuration file, then LANG), so the
help and every error, argparse's own among them, are in that language.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from tui import __version__
from tui.i18n import N_, _, language_from_environment, set_language

if TYPE_CHECKING:
    from tui.commands import UsageFailed

# subcommand -> (module under tui.commands, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "certs": ("certs", N_("list the certificates on the card")),
    "sign": ("sign", N_("make one CAdES-BES signature (for scripts and checks)")),
    "portal-sim": ("portal_sim", N_("run the portal simulator")),
    "demo": ("demo", N_("run the whole flow on a throwaway card and the simulator")),
    "doctor": ("doctor", N_("check the card, its driver and the portal, with fixes")),
    "ssh": ("ssh", N_("run eonay on a server over SSH with this computer's card")),
}

# argparse's own words: its headings, and the errors it makes up (Python 3.11's wording).
USAGE = "usage: "
_USAGE_WORD = N_("usage: ")
_HEADINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^options:$", re.MULTILINE), N_("options:")),
    (re.compile(r"^positional arguments:$", re.MULTILINE), N_("positional arguments:")),
)
_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"unrecognized arguments: (?P<args>.*)"), N_("unknown arguments: {args}")),
    (
        re.compile(r"the following arguments are required: (?P<args>.*)"),
        N_("these arguments are needed: {args}"),
    ),
    (re.compile(r"argument (?P<name>\S+): expected one argument"), N_("{name}: needs a value")),
    (
        re.compile(
            r"argument (?P<name>\S+): invalid choice: (?P<value>.*) \(choose from (?P<choices>.*)\)"
        ),
        N_("{name}: {value} is not one of {choices}"),
    ),
    (
        re.compile(r"argument (?P<name>\S+): invalid \S+ value: (?P<value>.*)"),
        N_("{name}: not a valid value: {value}"),
    ),
    (re.compile(r"argument (?P<name>\S+): (?P<problem>.*)"), N_("{name}: {problem}")),
    (
        re.compile(r"ambiguous option: (?P<option>\S+) could match (?P<matches>.*)"),
        N_("{option} could be any of {matches}"),
    ),
)


def _translate_argparse_error(message: str) -> str:
    for pattern, template in _ERRORS:
        match = pattern.fullmatch(message)
        if match:
            return _(template).format(**match.groupdict())
    return message


class Parser(argparse.ArgumentParser):
    """argparse in the chosen language; each error says `eonay: <source>: <problem>`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self.add_argument(
            "-h", "--help", action="help", default=argparse.SUPPRESS, help=_("show this help")
        )

    def format_usage(self) -> str:
        return _translated_headings(super().format_usage())

    def format_help(self) -> str:
        return _translated_headings(super().format_help())

    def error(self, message: str) -> NoReturn:
        from tui.commands import usage_failed

        self.print_usage(sys.stderr)
        usage_failed(_translate_argparse_error(message), self.prog)


def _translated_headings(text: str) -> str:
    """argparse's headings in the chosen language; the usage's wrapped lines kept aligned."""
    if text.startswith(USAGE):
        prefix = _(_USAGE_WORD)
        shift = len(prefix) - len(USAGE)
        lines = text.split("\n")
        lines[0] = prefix + lines[0][len(USAGE) :]
        for i in range(1, len(lines)):
            if not lines[i].startswith(" "):
                break
            lines[i] = " " * shift + lines[i] if shift >= 0 else lines[i][-shift:]
        text = "\n".join(lines)
    for pattern, heading in _HEADINGS:
        text = pattern.sub(_(heading), text)
    return text


class _SubcommandsConfiguredWhenChosen(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose own flags are added only when one is chosen.

    `eonay --help` lists every subcommand from its one-line help; importing
    each `tui.commands` module to build its flags cost the app's start-up
    about 15 ms (tempfile, json, shutil, ...) for commands it never runs.
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        name = values[0]
        if name in SUBCOMMANDS:
            configure_subcommand(self._name_parser_map[name], name)
        super().__call__(parser, namespace, values, option_string)


def configure_subcommand(sub_parser: argparse.ArgumentParser, name: str) -> None:
    """Add the flags of subcommand `name` to its parser (once): its own, then the global ones."""
    if getattr(sub_parser, "_eonay_configured", False):
        return
    importlib.import_module(f"tui.commands.{SUBCOMMANDS[name][0]}").configure(sub_parser)
    importlib.import_module("tui.commands.app").configure(sub_parser, suppress=True)
    sub_parser._eonay_configured = True  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="eonay",
        description=_("E-imzalı Giriş and E-Onay with a smart card, in the terminal."),
    )
    parser.add_argument(
        "--version", action="version", version=f"eonay {__version__}", help=_("show the version")
    )
    app_module = importlib.import_module("tui.commands.app")
    app_module.configure(parser)
    sub = parser.add_subparsers(
        title=_("commands"),
        dest="command",
        metavar=_("COMMAND"),
        action=_SubcommandsConfiguredWhenChosen,
        parser_class=Parser,
    )
    for name, (_module, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=_(help_text), description=_(help_text))
    return parser


# Options whose value may start with "-" (base64url uses it), which argparse
# would otherwise take for an option: `--nonce -x…` is passed as `--nonce=-x…`.
DASH_VALUE_OPTIONS = ("--nonce",)


def _attach_dash_values(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        if items[i] in DASH_VALUE_OPTIONS and i + 1 < len(items):
            out.append(f"{items[i]}={items[i + 1]}")
            i += 2
        else:
            out.append(items[i])
            i += 1
    return out


def use_preferred_language(argv: Sequence[str]) -> None:
    """`--lang` (wherever it is), else `EONAY_UI_LANGUAGE`/`EONAY_LANG`, the file, LANG."""
    from tui.core.setup.config import preferred_language

    early = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    early.add_argument("--lang")
    early.add_argument("--config")
    try:
        known, _rest = early.parse_known_args(argv)
    except argparse.ArgumentError:  # `--lang` without a value: the real parser says so
        known = argparse.Namespace(lang=None, config=None)
    set_language(preferred_language(known, os.environ) or language_from_environment())


# The commands that print to the terminal rather than draw on it: their log goes to stderr
# when a level is asked for (the app and the demo keep theirs in the log file).
LOG_TO_STDERR = ("certs", "sign", "doctor", "ssh")

# The global flags that take a value, to find the command word past them
# (`eonay --lang en ssh …`) and to tell them from ssh's options after it.
GLOBAL_VALUE_OPTIONS = ("--portal", "--module", "--lang", "--ca-bundle", "--config", "--log-level")


def _command_index(arguments: Sequence[str]) -> int | None:
    """Where the subcommand's name is, past the global flags before it."""
    i = 0
    while i < len(arguments):
        word = arguments[i]
        if word == "--":
            return None
        if word.startswith("-"):
            takes_value = word in GLOBAL_VALUE_OPTIONS
            i += 2 if takes_value else 1
            continue
        return i
    return None


def _set_aside_ssh_words(arguments: list[str]) -> tuple[list[str], object]:
    """`eonay ssh`'s words are ssh's and the remote eonay's: argparse sees only eonay's flags."""
    at = _command_index(arguments)
    if at is None or arguments[at] != "ssh":
        return arguments, None
    from tui.core.setup.ssh_card import SshUsageError, split_arguments

    try:
        line = split_arguments(arguments[at + 1 :], GLOBAL_VALUE_OPTIONS)
    except SshUsageError as err:
        sub = Parser(prog="eonay ssh", usage=importlib.import_module("tui.commands.ssh").USAGE)
        sub.error(str(err))
    return [*arguments[: at + 1], *line.local_options], line


def use_asked_log_level(args: argparse.Namespace) -> None:
    from tui.core.setup.config import preferred

    level = preferred(args, os.environ, "log.level", "log_level")
    if isinstance(level, str):
        from tui.core.setup.logs import log_to_stderr

        log_to_stderr(level)


def answer_in_json(arguments: Sequence[str], failure: UsageFailed) -> None:
    """`--json` promises JSON on stdout: also when the command line stops the command."""
    if "--json" not in arguments:
        return
    chosen = next((a for a in arguments if a in SUBCOMMANDS), None)
    if chosen is None:
        return
    command = importlib.import_module(f"tui.commands.{SUBCOMMANDS[chosen][0]}")
    json_failure = getattr(command, "json_failure", None)
    if json_failure is not None:
        import json

        json.dump(json_failure(failure.message), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")


def main(argv: Sequence[str] | None = None) -> int:
    from tui.commands import UsageFailed

    arguments = _attach_dash_values(sys.argv[1:] if argv is None else argv)
    use_preferred_language(arguments)
    try:
        parser = build_parser()
        arguments, ssh_line = _set_aside_ssh_words(arguments)
        args = parser.parse_args(arguments)
        if ssh_line is not None:
            args.ssh_line = ssh_line
        if args.command in LOG_TO_STDERR:
            use_asked_log_level(args)
        module = SUBCOMMANDS[args.command][0] if args.command else "app"
        code: int = importlib.import_module(f"tui.commands.{module}").run(args)
    except UsageFailed as failure:
        answer_in_json(arguments, failure)
        raise
    return code


if __name__ == "__main__":
    sys.exit(main())
