"""One module per `eonay` subcommand, each with `configure(parser)` and `run(args)`.

`configure` must stay cheap (argparse only): it runs for every invocation.
A command with `--json` also has `json_failure(message)`: the JSON answer
printed when the command line or the settings stop it before it ran.
"""

from __future__ import annotations

from typing import NoReturn

EXIT_USAGE = 2


class UsageFailed(SystemExit):
    """The command line or the settings cannot be used; already said on stderr."""

    def __init__(self, message: str) -> None:
        super().__init__(EXIT_USAGE)
        self.message = message


def usage_failed(message: str, prog: str = "eonay") -> NoReturn:
    """Say `prog: message` on stderr and end with exit status 2."""
    import sys

    print(f"{prog}: {message}", file=sys.stderr)
    raise UsageFailed(message)


def simulator_installed(command: str) -> bool:
    """Whether the `eonay[sim]` extra is there; if not, say how to install it."""
    import sys

    from tui.i18n import _
    from tui.sim import missing_packages

    missing = missing_packages()
    if missing:
        print(
            _(
                "eonay {command}: the portal simulator is not installed (missing: {packages}). "
                "Install it with: pip install 'eonay[sim]'"
            ).format(command=command, packages=", ".join(missing)),
            file=sys.stderr,
        )
    return not missing
