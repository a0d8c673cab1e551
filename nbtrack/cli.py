"""The ``nbtrack`` command: one subcommand per tool (``nbtrack doctor``; more register below).

Each subcommand is a ``register(subparsers)`` that adds its parser and sets
``func`` (called with the parsed arguments, returning the exit status).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nbtrack.errors import NbtrackError
from nbtrack.sync import command as sync_command


def _doctor(args: argparse.Namespace) -> int:
    from nbtrack.store.doctor import doctor

    report = doctor(args.store, repair=args.repair)
    print(report)
    return 0 if report.ok or report.repaired else 1


def _register_doctor(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check a store's files; with --repair, rebuild it keeping everything recoverable",
        description="Check every file of a store (snapshot, backup, log, index, run journals) and report what is "
        "damaged and what can be recovered. Exit status: 0 sound (or repaired), 1 damaged, 2 error.",
    )
    parser.add_argument("store", nargs="?", default=None, help="the store folder (default: the current store)")
    parser.add_argument(
        "--repair",
        action="store_true",
        help="copy the damaged files into <store>/damaged-<time>/, then rebuild the store (stop its kernels first)",
    )
    parser.set_defaults(func=_doctor)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nbtrack`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="nbtrack", description="nbtrack: experiment tracking in the notebook.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _register_doctor(subparsers)
    sync_command.add_parser(subparsers)
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except NbtrackError as exc:
        print(f"nbtrack {args.command}: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    raise SystemExit(main())
