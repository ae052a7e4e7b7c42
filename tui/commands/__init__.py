"""One module per `eonay` subcommand, each with `configure(parser)` and `run(args)`.

`configure` must stay cheap (argparse only): it runs for every invocation.
"""
