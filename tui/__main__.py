"""The `eonay` command: parse flags, pick the subcommand, import only what it needs."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from tui import __version__

# subcommand -> (module under tui.commands, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "certs": ("certs", "list the certificates on the card"),
    "sign": ("sign", "make one CAdES-BES signature (for scripts and checks)"),
    "portal-sim": ("portal_sim", "run the portal simulator"),
    "demo": ("demo", "run the whole flow on a throwaway card and the simulator"),
    "doctor": ("doctor", "check the card, its driver and the portal, with fixes"),
}


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
    """Add the flags of subcommand `name` to its parser (once)."""
    if getattr(sub_parser, "_eonay_configured", False):
        return
    importlib.import_module(f"tui.commands.{SUBCOMMANDS[name][0]}").configure(sub_parser)
    sub_parser._eonay_configured = True  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eonay",
        description="E-imzalı Giriş and E-Onay with a smart card, in the terminal.",
    )
    parser.add_argument("--version", action="version", version=f"eonay {__version__}")
    app_module = importlib.import_module("tui.commands.app")
    app_module.configure(parser)
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", action=_SubcommandsConfiguredWhenChosen
    )
    for name, (_module, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text)
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(_attach_dash_values(sys.argv[1:] if argv is None else argv))
    module = SUBCOMMANDS[args.command][0] if args.command else "app"
    code: int = importlib.import_module(f"tui.commands.{module}").run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
