"""Starting the background jobs of a big store (see :mod:`._compactor`, which runs them)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

JOBS = ("compact", "index")
#: exit status of a job that found nothing to do, or another job (or process) in its way
BUSY = 3
#: a process starts at most one job per store in this many seconds
_MIN_INTERVAL = 2.0
_jobs: dict[str, tuple[subprocess.Popen[bytes] | None, float]] = {}


def _forget_jobs() -> None:
    _jobs.clear()


os.register_at_fork(after_in_child=_forget_jobs)


def launch(root: Path, job: str) -> bool:
    """Start background ``job`` on store ``root`` unless one started here is running.

    Returns ``True`` when a job is running (or was started less than two seconds
    ago), ``False`` when none can be started or the last one failed: the caller then
    does the work itself.
    """
    key = str(root)
    proc, started = _jobs.get(key, (None, 0.0))
    if proc is not None:
        code = proc.poll()
        if code is None:
            return True
        _jobs[key] = (None, started)
        if code not in (0, BUSY):
            return False
    if time.monotonic() - started < _MIN_INTERVAL:
        return True
    if not sys.executable:
        return False
    package_parent = str(Path(__file__).resolve().parents[2])  # the job imports this same nbtrack
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": package_parent + (os.pathsep + path if path else "")}
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nbtrack.store._compactor", str(root.resolve()), job],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not killed with the notebook's interrupt
        )
    except OSError:
        return False
    _jobs[key] = (proc, time.monotonic())
    return True


def wait(root: Path, timeout: float | None = None) -> int | None:
    """Wait for the background job this process started on ``root``; its exit status (``None``: none)."""
    proc, started = _jobs.get(str(root), (None, 0.0))
    if proc is None:
        return None
    code = proc.wait(timeout)
    _jobs[str(root)] = (None, started)
    return code
