"""One module per `eonay` subcommand, each with `configure(parser)` and `run(args)`.

`configure` must stay cheap (argparse only): it runs for every invocation.
"""


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
