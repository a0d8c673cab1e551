"""IPython magics: ``%%track`` (one cell, one run) and ``%nbtrack`` (runs, show, experiment, store).

``%load_ext nbtrack`` registers them. ``%%track`` runs the cell's code exactly as
IPython would (see :mod:`nbtrack.magics._cell`), inside a run that records the cell's
source, execution count, cell id, notebook path, the variables it created or
rebound, wall time, output sizes, the session history and notebook-state
warnings, and then shows a :class:`~nbtrack.widgets.run_card.RunCard`.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from IPython.core import magic_arguments as _ma
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from nbtrack.entities import RunStatus, RunTag, Tags
from nbtrack.errors import NbtrackError
from nbtrack.lineage import recorder as lineage_recorder
from nbtrack.magics import _cell
from nbtrack.magics._autolog_scope import AutologScope
from nbtrack.magics._notebook_state import NotebookState, notebook_path
from nbtrack.tracking import fluent, state
from nbtrack.tracking.client import TrackingClient

# IPython's argument helpers carry no type hints.
_Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
magic_arguments: Callable[..., _Decorator] = _ma.magic_arguments
argument: Callable[..., _Decorator] = _ma.argument
parse_argstring: Callable[..., Any] = _ma.parse_argstring
_line_magic: Callable[..., _Decorator] = line_magic

logger = logging.getLogger("nbtrack")
SOURCE_TAG_LIMIT = 8000
_RUN_COLUMNS = (
    "run_id",
    "tags.mlflow.runName",
    "status",
    "start_time",
    "end_time",
    "tags.nbtrack.execution_count",
    "tags.nbtrack.state",
)
_SUBCOMMANDS = "runs [-e NAME] [-n N] | show RUN_ID | experiment NAME | store PATH"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unquote(text: str) -> str:
    """Drop one pair of matching quotes (IPython's argument splitter keeps them)."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _parse_tags(values: list[str], usage: str) -> dict[str, str]:
    tags = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-t/--tag takes KEY=VALUE (for example -t team=search), got {item!r}.\n{usage}")
        tags[key.strip()] = value
    return tags


@magics_class
class TrackMagics(Magics):
    """``%%track`` and ``%nbtrack``; see the module docstring."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.state = NotebookState(shell)
        self.autolog = AutologScope()
        self.lineage: Any = None  # the shell's lineage recorder, once the events are registered

    def register_events(self) -> None:
        """Listen to the shell's cell events (cell ids, execution order, autolog scope)."""
        shell: Any = self.shell
        self.state.register()
        self.lineage = lineage_recorder.install(shell)
        shell.events.register("pre_run_cell", self.autolog.pre_run_cell)
        shell.events.register("post_run_cell", self.autolog.post_run_cell)

    def unregister_events(self) -> None:
        """Stop listening to the shell's cell events."""
        shell: Any = self.shell
        self.state.unregister()
        lineage_recorder.uninstall(shell)
        for name, callback in (
            ("pre_run_cell", self.autolog.pre_run_cell),
            ("post_run_cell", self.autolog.post_run_cell),
        ):
            try:
                shell.events.unregister(name, callback)
            except ValueError:
                pass

    # -- %%track ---------------------------------------------------------
    @magic_arguments()
    @argument("run_name", nargs="?", default=None, help="Name of the run (a readable random name by default).")
    @argument("-e", "--experiment", default=None, help="Experiment to log into (created if missing).")
    @argument("-t", "--tag", action="append", default=[], metavar="KEY=VALUE", help="Extra tag; repeatable.")
    @argument("--no-autolog", action="store_true", help="Do not autolog scikit-learn fits in this cell.")
    @argument("--nested", action="store_true", help="Start the run as a child of the active run.")
    @argument("--quiet", action="store_true", help="Do not show the run card.")
    @cell_magic
    def track(self, line: str, cell: str) -> None:
        """Run the cell inside a tracked run and show its run card.

        The cell's exceptions propagate unchanged (same traceback as without the
        magic); the run is then FAILED (KILLED on interrupt) with the exception's
        type and message as tags. No run is left active after the cell.
        """
        usage = "Usage: %" + " ".join(cast(Any, self.track).parser.format_usage().replace("::", "").split())
        try:
            args = parse_argstring(self.track, line)
        except UsageError as err:
            raise UsageError(f"{err}\n{usage}") from None
        user_tags = _parse_tags([_unquote(t) for t in args.tag], usage)
        run_name = _unquote(args.run_name) if args.run_name else None
        experiment = _unquote(args.experiment) if args.experiment else None
        shell: Any = self.shell
        outer = shell.displayhook.exec_result  # the ExecutionResult of this cell (None outside a cell)
        info = getattr(outer, "info", None) or self.state.current
        count = getattr(outer, "execution_count", None) or shell.execution_count
        cell_id = getattr(info, "cell_id", None) or None
        raw_cell = getattr(info, "raw_cell", None)
        # The body exactly as typed in the notebook (IPython hands the magic a newline-terminated copy).
        typed = raw_cell is not None and raw_cell.lstrip().startswith("%%track") and "\n" in raw_cell
        source = raw_cell.split("\n", 1)[1] if typed and raw_cell is not None else cell
        if raw_cell is None:
            raw_cell = f"%%track {line}\n{cell}"

        prepared = _cell.prepare(shell, cell)
        if _cell.needs_event_loop(shell, prepared):
            raise UsageError("%%track cannot run top-level `await`; wrap the awaits in a function and use asyncio.")
        parent = fluent.active_run()
        if parent is not None and not args.nested:
            raise UsageError(
                f"Run {parent.info.run_id} is already active. End it with nbtrack.end_run(), "
                "or use %%track --nested to log this cell as its child."
            )
        client = state.get_client()  # the fluent API's client: same store, no second lookup per cell
        experiment_id = self._experiment_id(client, experiment) if experiment else None
        nb_path = notebook_path(shell)
        warnings = self.state.warnings(count, cell_id, raw_cell, nb_path)
        tags = {
            **user_tags,
            Tags.CELL_SOURCE: _truncate(source, SOURCE_TAG_LIMIT),
            Tags.EXECUTION_COUNT: str(count),
            Tags.NOTEBOOK_PATH: nb_path,
            Tags.NOTEBOOK_STATE: "; ".join(warnings),
        }
        if cell_id:
            tags[Tags.CELL_ID] = cell_id
        pending = None
        if self.lineage is not None:
            with _own_errors("compute the cell's slice"):
                pending = self.lineage.prepare(raw_cell, count, cell_id)
                tags.update(pending.tags)
        run = fluent.start_run(run_name=run_name, experiment_id=experiment_id, nested=args.nested, tags=tags)
        run_id = run.info.run_id
        base_id = parent.info.run_id if parent is not None else None
        status = RunStatus.FAILED
        error: BaseException | None = None
        others = True
        try:
            with _own_errors("save the cell's source and the session history"):
                folder = client.artifact_dir(run_id)
                (folder / "cell.py").write_text(source, encoding="utf-8")
                (folder / "session_history.py").write_text(self.state.history_text(count), encoding="utf-8")
            if pending is not None:
                with _own_errors("save the cell's slice"):
                    self.lineage.attach(client, run_id, pending)
            before = _cell.snapshot(shell.user_ns)
            counter = _cell.StreamCounter(shell)
            result = outer if outer is not None else _detached_result()
            with self.autolog.scope(not args.no_autolog, cell), counter.counting():
                started = time.perf_counter()
                error = _cell.execute(shell, prepared, result, count)
                wall = time.perf_counter() - started
            status = _status_for(error)
            with _own_errors("record the cell's outcome"):
                self._log_outcome(client, run_id, error, wall, counter, before)
            # Any run started or ended after ours moves the fluent API's "last run"; if it did not
            # move, the run has no children and the card can skip searching for them.
            others = state.last_run_id() != run_id
        except KeyboardInterrupt:
            status = RunStatus.KILLED
            raise
        finally:
            _close_runs(client, run_id, base_id, status)
        if not args.quiet:
            with _own_errors("show the run card"):
                self._show_card(run_id, client, others)
        if outer is None and error is not None:
            raise error

    def _experiment_id(self, client: TrackingClient, name: str) -> str:
        found = client.get_experiment_by_name(name)
        if found is None:
            try:
                return client.create_experiment(name)
            except NbtrackError:
                found = client.get_experiment_by_name(name)
                if found is None:
                    raise
        if found.lifecycle_stage != "active":
            raise UsageError(f"Experiment {name!r} is deleted; restore it or choose another name with -e.")
        return found.experiment_id

    def _log_outcome(
        self,
        client: TrackingClient,
        run_id: str,
        error: BaseException | None,
        wall: float,
        counter: _cell.StreamCounter,
        before: dict[str, int],
    ) -> None:
        shell: Any = self.shell
        variables = _cell.changed_variables(shell.user_ns, before, shell.user_ns_hidden)
        tags = [
            RunTag(Tags.WALL_TIME, f"{wall:.6f}"),
            RunTag(Tags.CELL_OUTPUTS, _truncate(json.dumps(variables), SOURCE_TAG_LIMIT)),
        ]
        if counter.stdout is not None:
            tags.append(RunTag(Tags.STDOUT_BYTES, str(counter.stdout)))
        if counter.stderr is not None:
            tags.append(RunTag(Tags.STDERR_BYTES, str(counter.stderr)))
        if error is not None:
            tags.append(RunTag(Tags.EXCEPTION_TYPE, type(error).__qualname__))
            tags.append(RunTag(Tags.EXCEPTION_MESSAGE, _truncate(str(error), 1000)))
        client.log_batch(run_id, tags=tags)
        if variables:
            folder = client.artifact_dir(run_id)
            (folder / "cell_variables.json").write_text(json.dumps(variables, indent=1), encoding="utf-8")

    def _show_card(self, run_id: str, client: TrackingClient, children: bool) -> None:
        from IPython import display as ipd

        from nbtrack.widgets.run_card import RunCard

        display: Any = ipd.display
        card = RunCard(run_id, client, find_children=children)
        display(card)
        if getattr(self.shell, "kernel", None) is not None:
            box = card.actions()
            if box is not None:
                display(box)

    # -- %nbtrack --------------------------------------------------------
    @_line_magic("nbtrack")
    def nbtrack_magic(self, line: str) -> Any:
        """``%nbtrack runs [-e NAME] [-n N]``, ``show RUN_ID``, ``experiment NAME``, ``store PATH``."""
        try:
            words = shlex.split(line)
        except ValueError as err:
            raise UsageError(f"%nbtrack: {err}") from None
        usage = f"Usage: %nbtrack {_SUBCOMMANDS}"
        if not words:
            raise UsageError(usage)
        command, rest = words[0], words[1:]
        try:
            if command == "runs":
                return _runs_frame(rest, usage)
            if command == "show":
                if len(rest) != 1:
                    raise UsageError(f"%nbtrack show takes one RUN_ID.\n{usage}")
                from nbtrack.widgets.run_card import RunCard

                return RunCard(rest[0])
            if command == "experiment":
                if len(rest) != 1:
                    raise UsageError(f"%nbtrack experiment takes one NAME (quote names with spaces).\n{usage}")
                experiment = fluent.set_experiment(rest[0])
                print(f"Active experiment: {experiment.name} (id {experiment.experiment_id})")
                return None
            if command == "store":
                if len(rest) != 1:
                    raise UsageError(f"%nbtrack store takes one PATH.\n{usage}")
                fluent.set_tracking_uri(rest[0])
                print(f"Store: {fluent.get_tracking_uri()}")
                return None
        except NbtrackError as err:
            raise UsageError(str(err)) from None
        raise UsageError(f"Unknown subcommand {command!r}; use one of: runs, show, experiment, store.\n{usage}")


def _runs_frame(words: list[str], usage: str) -> Any:
    experiment, limit = None, 10
    it = iter(words)
    for word in it:
        value = next(it, None)
        if word in ("-e", "--experiment") and value is not None:
            experiment = value
        elif word in ("-n", "--max") and value is not None and value.isdigit() and int(value) > 0:
            limit = int(value)
        else:
            raise UsageError(f"%nbtrack runs takes [-e NAME] [-n N] (N a positive integer), got {word!r}.\n{usage}")
    names = [experiment] if experiment else None
    frame = fluent.search_runs(experiment_names=names, max_results=limit)
    # A compact view: the run, its outcome, metrics and params (tags such as the cell source stay out).
    keep = [c for c in _RUN_COLUMNS if c in frame.columns]
    keep += [c for c in frame.columns if c.startswith(("metrics.", "params."))]
    return frame[keep]


def _detached_result() -> Any:
    from IPython.core import interactiveshell

    factory: Any = interactiveshell.ExecutionResult
    return factory(None)


@contextmanager
def _own_errors(what: str) -> Iterator[None]:
    """Errors of nbtrack's own bookkeeping after the cell ran become a warning, never a failed cell.

    With ``NBTRACK_TESTING=true`` they are raised, so tests see them.
    """
    try:
        yield
    except Exception as exc:
        if os.environ.get("NBTRACK_TESTING", "").lower() == "true":
            raise
        logger.warning("nbtrack could not %s: %s: %s", what, type(exc).__name__, exc)


def _status_for(error: BaseException | None) -> str:
    if error is None:
        return RunStatus.FINISHED
    if isinstance(error, KeyboardInterrupt):
        return RunStatus.KILLED
    return RunStatus.FAILED


def _close_runs(client: TrackingClient, run_id: str, base_id: str | None, status: str) -> None:
    """End every run still open above ``base_id`` (ours and any the cell left open) with ``status``."""
    while True:
        active = fluent.active_run()
        if active is None or active.info.run_id == base_id:
            break
        fluent.end_run(status)
    if status != RunStatus.FINISHED and client.get_run(run_id).info.status == RunStatus.FINISHED:
        client.set_terminated(run_id, status)  # the cell ended the run itself, then failed


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%track`` and ``%nbtrack`` (``%load_ext nbtrack``); loading again changes nothing.

    Parameters
    ----------
    ipython : InteractiveShell
        The running shell.
    """
    if isinstance(ipython.magics_manager.registry.get("TrackMagics"), TrackMagics):
        return
    magics = TrackMagics(ipython)
    ipython.register_magics(magics)
    magics.register_events()


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics and event listeners registered by :func:`load_ipython_extension`.

    Parameters
    ----------
    ipython : InteractiveShell
        The running shell.
    """
    manager = ipython.magics_manager
    magics = manager.registry.pop("TrackMagics", None)
    if not isinstance(magics, TrackMagics):
        return
    magics.unregister_events()
    for kind, name in (("cell", "track"), ("line", "nbtrack")):
        table = manager.magics[kind]
        if getattr(table.get(name), "__self__", None) is magics:
            del table[name]
