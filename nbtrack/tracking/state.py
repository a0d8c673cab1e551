"""The fluent API's state: the active run stack (one per thread, as in MLflow), the active experiment, the client.

Every module that acts on "the current run" reads it here, through these functions, rather than through the fluent
module's globals: the magics, autolog and the flavors stay clear of :mod:`nbtrack.tracking.fluent`'s internals.

* The active-run stack and the last run belong to the calling thread: two threads can each hold a run, and a thread
  that logs without a run of its own starts one rather than writing into another thread's run.
* The active experiment and the cached client are process-wide (``set_experiment`` in the main thread applies to
  worker threads, as in MLflow).
* A forked child (a ``multiprocessing`` worker, say) starts with no active run of its own: the run that was active
  in the forking thread stays the parent's to end. It is remembered as :func:`inherited_parent_id`, so
  ``start_run(nested=True)`` in the child links its run to it, as the user asked.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from nbtrack import config
from nbtrack.tracking.client import TrackingClient

__all__ = [
    "active_run_id",
    "active_runs",
    "experiment_id",
    "export_active_run",
    "get_client",
    "inherited_parent_id",
    "last_run_id",
    "lock",
    "reset",
    "set_experiment_id",
    "set_last_run_id",
]

lock = threading.RLock()
_local = threading.local()
_experiment_id: str | None = None
_client: TrackingClient | None = None
_client_uri: str | None = None
_generation = 0  # bumped by reset() and fork: a thread's stack from before is forgotten
PARENT_RUN_ENV = "NBTRACK_PARENT_RUN_ID"
# A process started while a run was active (a spawn or forkserver worker, a script run from a tracked cell) may nest
# its runs under that run: the parent exports its id here while the run is active.
_inherited_parent: str | None = os.environ.get(PARENT_RUN_ENV) or None


class _ThreadRuns:
    def __init__(self) -> None:
        self.generation = _generation
        self.stack: list[Any] = []  # ActiveRun objects, innermost last
        self.last_run_id: str | None = None


def _mine() -> _ThreadRuns:
    runs: _ThreadRuns | None = getattr(_local, "runs", None)
    if runs is None or runs.generation != _generation:
        runs = _local.runs = _ThreadRuns()
    return runs


def get_client() -> TrackingClient:
    """The client of the fluent API, on the store that :func:`nbtrack.get_tracking_uri` names right now.

    Returns
    -------
    TrackingClient
        One instance per tracking URI; a new one when the URI changes.
    """
    global _client, _client_uri
    uri = config.get_tracking_uri()
    client = _client
    if client is None or _client_uri != uri:
        with lock:
            client = _client = TrackingClient(uri)
            _client_uri = uri
    return client


def active_runs() -> list[Any]:
    """The calling thread's stack of active runs (``ActiveRun`` objects), innermost last; mutable by the fluent API.

    Returns
    -------
    list
    """
    return _mine().stack


def active_run_id() -> str | None:
    """The id of the calling thread's innermost active run, or ``None``.

    Returns
    -------
    str or None
    """
    stack = _mine().stack
    return stack[-1].info.run_id if stack else None


def last_run_id() -> str | None:
    """The id of the run the calling thread started or ended last, or ``None``.

    Returns
    -------
    str or None
    """
    return _mine().last_run_id


def set_last_run_id(run_id: str | None) -> None:
    """Record the calling thread's most recent run.

    Parameters
    ----------
    run_id : str or None
        The run's id.
    """
    _mine().last_run_id = run_id


def experiment_id() -> str | None:
    """The experiment chosen by ``set_experiment`` in this process, or ``None``.

    Returns
    -------
    str or None
    """
    return _experiment_id


def set_experiment_id(value: str | None) -> None:
    """Make an experiment id the active one for every thread (``None`` forgets it).

    Parameters
    ----------
    value : str or None
        The experiment's id.
    """
    global _experiment_id
    _experiment_id = value


def inherited_parent_id() -> str | None:
    """In a child process, the run that was active in the parent when it started the child; else ``None``.

    Returns
    -------
    str or None
    """
    return _inherited_parent


def export_active_run(run_id: str | None) -> None:
    """Tell processes started from now on which run is active here (``None``: none is).

    Parameters
    ----------
    run_id : str or None
        The innermost active run of the calling thread.
    """
    if run_id is None:
        os.environ.pop(PARENT_RUN_ENV, None)
    else:
        os.environ[PARENT_RUN_ENV] = run_id


def _after_fork_in_child() -> None:
    global _generation, _inherited_parent, lock
    runs: _ThreadRuns | None = getattr(_local, "runs", None)
    if runs is not None and runs.generation == _generation and runs.stack:
        _inherited_parent = runs.stack[-1].info.run_id
    lock = threading.RLock()  # another thread may have held it at fork time
    _generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


def reset() -> None:
    """Forget every thread's runs, the experiment and the client; ends nothing (tests)."""
    global _experiment_id, _client, _client_uri, _generation, _inherited_parent
    with lock:
        _generation += 1
        _experiment_id = _inherited_parent = None
        os.environ.pop(PARENT_RUN_ENV, None)
        _client = _client_uri = None
