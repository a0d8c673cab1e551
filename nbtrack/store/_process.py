"""Is the process that owns a RUNNING run still alive?"""

from __future__ import annotations

import os
import socket

HOST = socket.gethostname()


def _proc_stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read().decode(errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after it are plain.
    return raw[raw.rfind(")") + 2 :].split()


_own: dict[int, str] = {}


def own_start_marker() -> str:
    """A marker of this process's start, so a recycled pid is not taken for us (per pid: forks differ)."""
    pid = os.getpid()
    marker = _own.get(pid)
    if marker is None:
        _own.clear()
        marker = _own[pid] = process_start_marker(pid)
    return marker


def forget_own_marker() -> None:
    """Drop the cached marker (a forked child has its own start time)."""
    _own.clear()


def process_start_marker(pid: int) -> str:
    """The kernel's start time of ``pid`` (Linux), or ``""`` where unknown."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else ""


def process_alive(pid: int, marker: str = "") -> bool:
    """Return whether ``pid`` runs on this host and is the same process as when ``marker`` was taken."""
    if pid == os.getpid():
        return True
    fields = _proc_stat(pid)
    if fields is not None:
        if fields[0] in ("Z", "X"):  # zombie: killed, not yet reaped
            return False
        return not marker or fields[19] == marker
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
