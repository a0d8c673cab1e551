"""The ``nbtrack sync SRC DST`` subcommand."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``sync`` on the ``nbtrack`` command line."""
    parser = subparsers.add_parser(
        "sync",
        help="copy experiments, runs and registered models between stores",
        description=(
            "Copy experiments, runs (params, metric histories, tags, datasets, files) and registered models "
            "(versions, stages, aliases) from SRC to DST. SRC and DST are nbtrack stores (a folder, or an MLflow "
            "tracking server http(s)://host:port); SRC may also be an MLflow mlruns/ folder or sqlite:/// "
            "database. Running it again copies only what is new."
        ),
    )
    parser.add_argument("src", metavar="SRC", help="where to copy from")
    parser.add_argument("dst", metavar="DST", help="where to copy to")
    parser.add_argument(
        "-e", "--experiment", action="append", dest="experiments", help="only this experiment (name or id); repeatable"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run a sync from parsed arguments and print its summary; errors are ``NbtrackError`` (exit status 2)."""
    from nbtrack.sync import sync

    summary = sync(args.src, args.dst, args.experiments, progress=False if args.no_progress else None)
    print(summary)
    return 0
