"""Artifact writes still in flight: work that fills a run's artifact folder after the call that caused it returned.

Autolog renders its classifier plots here so that ``fit`` does not wait for matplotlib. Anything that reads a run's
artifacts (``list_artifacts``, ``download_artifacts``, :mod:`nbtrack.artifacts`) or ends the run (``end_run``) first
waits for that run's pending writes, so readers never see a half-logged run; the interpreter waits for all of them
at exit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["submit", "wait"]

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_pending: dict[str, list[tuple[Future[Any], bool]]] = {}


def submit(run_id: str, job: Callable[[], Any], *, after_end: bool = False) -> Future[Any]:
    """Run ``job`` in the background worker, as a pending write of ``run_id``'s artifacts.

    ``after_end`` lets the run end before the job is done (``end_run`` does not wait for it; readers still do):
    autolog's plots of a run it ends itself, which would otherwise hold up ``fit``.
    """
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbtrack-artifacts")
        future = _executor.submit(job)
        _pending.setdefault(run_id, []).append((future, after_end))
    return future


def wait(run_id: str | None = None, timeout: float | None = None, *, ending: bool = False) -> None:
    """Wait for the pending writes of ``run_id`` (of every run when ``None``).

    ``ending`` (the run is being ended) skips the jobs submitted with ``after_end``.

    Raises
    ------
    Exception
        What a job raised (autolog's jobs raise only under ``NBTRACK_TESTING``; otherwise they warn).
    """
    with _lock:
        keys = list(_pending) if run_id is None else [run_id]
        futures: list[Future[Any]] = []
        for key in keys:
            jobs = _pending.pop(key, [])
            kept: list[tuple[Future[Any], bool]] = [(f, late) for f, late in jobs if ending and late]
            futures.extend(f for f, late in jobs if not (ending and late))
            if kept:
                _pending[key] = kept
    for future in futures:
        future.result(timeout=timeout)


def _forget_after_fork() -> None:
    # A forked child inherits the parent's futures but not its worker thread: they would never complete there.
    global _executor, _lock
    _lock = threading.Lock()
    _executor = None
    _pending.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def has_pending(run_id: str) -> bool:
    """Whether ``run_id`` has writes not yet waited for."""
    with _lock:
        return any(not f.done() for f, _ in _pending.get(run_id, ()))
