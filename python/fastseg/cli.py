"""The `fastseg` command line. Each area registers its own subcommands here."""

from __future__ import annotations

import argparse
import sys

from . import __version__


class CliError(Exception):
    """A user error: printed as one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse with its errors as one line (the usage is one --help away); subcommand parsers
    are made of this class too."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="fastseg", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fastseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from . import commands, demo

    commands.register(sub)
    demo.register(sub)
    from .data import cli as data_cli

    data_cli.register(sub)
    from .train import cli as train_cli

    train_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except CliError as e:
        print(f"fastseg {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
