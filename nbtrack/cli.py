"""The ``nbtrack`` command: one subcommand per part (``nbtrack sync SRC DST``...)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The ``nbtrack`` argument parser with every subcommand."""
    from nbtrack.sync import command as sync_command

    parser = argparse.ArgumentParser(prog="nbtrack", description="Experiment tracking inside the notebook.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    sync_command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nbtrack`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        The exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return int(handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
