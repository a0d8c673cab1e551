"""Buffered writes to the server: per-run batches, a background flusher and a local spool.

Params, tags and metric points wait in memory and leave as ``runs/log-batch`` calls
within MLflow's limits (1000 metrics, 100 params, 100 tags, 1000 items per call), from a
daemon thread about once a second, and synchronously on ``flush()`` (run end, reads of
that run, interpreter exit). When the server does not answer, the calls are written to a
spool file (one JSON line each) and retried with backoff; each line leaves the file only
once the server has accepted it. A process that died with a spool is taken over by the
next one that opens the same server (the file is claimed by an atomic rename).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from nbtrack.entities import Metric, Param, RunTag
from nbtrack.errors import NbtrackError
from nbtrack.store._process import own_start_marker, process_alive
from nbtrack.store.mlflow_server._convert import metric_json
from nbtrack.store.mlflow_server._transport import PermissionDenied, ServerUnavailable, Transport

logger = logging.getLogger("nbtrack.store")

MAX_METRICS = 1000
MAX_PARAMS = 100
MAX_TAGS = 100
MAX_ITEMS = 1000
FLUSH_INTERVAL = 1.0
MAX_BACKOFF = 30.0


class SpoolWarning(UserWarning):
    """Data is held locally because the tracking server did not answer."""


@dataclass
class Op:
    """One REST call waiting to be sent: ``path`` and JSON ``body``."""

    run_id: str
    path: str
    body: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def line(self) -> bytes:
        return orjson.dumps({"id": self.id, "run_id": self.run_id, "path": self.path, "body": self.body}) + b"\n"


@dataclass
class _Buffer:
    metrics: list[Metric] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    tags: list[RunTag] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)


def batch_ops(run_id: str, buf: _Buffer) -> Iterator[Op]:
    """Split a run's buffer into ``log-batch`` calls within MLflow's limits."""
    metrics, params, tags = buf.metrics, buf.params, buf.tags
    i = j = k = 0
    while i < len(metrics) or j < len(params) or k < len(tags):
        p = params[j : j + MAX_PARAMS]
        t = tags[k : k + MAX_TAGS]
        room = min(MAX_METRICS, MAX_ITEMS - len(p) - len(t))
        m = metrics[i : i + room]
        i, j, k = i + len(m), j + len(p), k + len(t)
        body = {
            "run_id": run_id,
            "metrics": [metric_json(x) for x in m],
            "params": [{"key": x.key, "value": x.value} for x in p],
            "tags": [{"key": x.key, "value": x.value} for x in t],
        }
        yield Op(run_id, "runs/log-batch", body)


class Spool:
    """This process's spool file in ``folder`` (and the files of dead processes, adopted)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / f"spool-{os.getpid()}-{own_start_marker() or 'x'}-{uuid.uuid4().hex[:8]}.jsonl"
        self._lines: dict[str, bytes] = {}

    def adopt(self) -> list[Op]:
        """Claim the spool files of processes that are gone; return their calls in order."""
        ops: list[Op] = []
        if not self.folder.is_dir():
            return ops
        for path in sorted(self.folder.glob("spool-*.jsonl"), key=lambda p: p.stat().st_mtime):
            parts = path.stem.split("-")
            with contextlib.suppress(ValueError, IndexError):
                if path != self.path and process_alive(int(parts[1]), parts[2] if parts[2] != "x" else ""):
                    continue
            claimed = self.folder / f".claimed-{uuid.uuid4().hex}"
            try:
                os.replace(path, claimed)
            except OSError:
                continue  # another process claimed it first
            for raw in claimed.read_bytes().splitlines():
                with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                    item = orjson.loads(raw)
                    ops.append(Op(item["run_id"], item["path"], item["body"], item["id"]))
            for op in ops:
                self._lines[op.id] = op.line()
            self._write()
            claimed.unlink()
        return ops

    def add(self, ops: list[Op]) -> None:
        fresh = [op for op in ops if op.id not in self._lines]
        if not fresh:
            return
        for op in fresh:
            self._lines[op.id] = op.line()
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as f:
            f.write(b"".join(op.line() for op in fresh))
            f.flush()
            os.fsync(f.fileno())

    def done(self, op: Op) -> None:
        if self._lines.pop(op.id, None) is not None:
            self._write()

    def _write(self) -> None:
        if not self._lines:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(b"".join(self._lines.values()))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def __len__(self) -> int:
        return len(self._lines)


class Outbox:
    """Buffered, spooled writes of one server store.

    Parameters
    ----------
    transport : Transport
        How calls reach the server.
    spool_dir : Path
        Where calls wait while the server does not answer.
    on_sent : callable, optional
        Called with the run id after a call of that run was accepted.
    """

    def __init__(self, transport: Transport, spool_dir: Path, on_sent: Callable[[str], None] | None = None) -> None:
        self._t = transport
        self._lock = threading.Lock()
        self._send = threading.RLock()
        self._pending: dict[str, _Buffer] = {}
        self._spool = Spool(spool_dir)
        self._retry: list[Op] = self._spool.adopt()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._on_sent = on_sent
        self.down_since: float | None = None
        self._backoff = FLUSH_INTERVAL
        if self._retry:
            self._start()

    # -- queueing ---------------------------------------------------------
    def add(self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
        """Queue data of a run."""
        with self._lock:
            buf = self._pending.get(run_id)
            if buf is None:
                buf = self._pending[run_id] = _Buffer()
            buf.metrics.extend(metrics)
            buf.params.extend(params)
            buf.tags.extend(tags)
            full = len(buf.metrics) >= MAX_METRICS
        if self._thread is None:
            self._start()
        if full:
            self._wake.set()

    def add_call(self, run_id: str, path: str, body: dict[str, Any]) -> None:
        """Queue one call after the run's buffered data (sent on the next flush; spooled if the server is down)."""
        with self._send:
            self._retry.extend(self._take(run_id))
            self._retry.append(Op(run_id, path, body))
            if self.down_since is not None:
                self._spool.add(self._retry)
        if self._thread is None:
            self._start()
        self._wake.set()

    def went_down(self, exc: Exception) -> None:
        """Record that a foreground call found the server gone (spools what waits, warns)."""
        with self._send:
            self._retry.extend(self._take(None))
            self._spool.add(self._retry)
            self._went_down(exc, True)

    def pending(self, run_id: str | None = None) -> int:
        """How many items or calls wait (of one run, or in all)."""
        with self._lock:
            bufs = [self._pending[run_id]] if run_id in self._pending else [] if run_id else self._pending.values()
            count = sum(len(b) for b in bufs)
        return count + sum(1 for op in self._retry if run_id is None or op.run_id == run_id)

    def has_pending_call(self, run_id: str, path: str) -> bool:
        """Whether a call of ``path`` for the run still waits."""
        return any(op.run_id == run_id and op.path == path for op in self._retry)

    def _take(self, run_id: str | None) -> list[Op]:
        with self._lock:
            if run_id is None:
                taken = self._pending
                self._pending = {}
            else:
                buf = self._pending.pop(run_id, None)
                taken = {run_id: buf} if buf is not None else {}
        return [op for rid, buf in taken.items() for op in batch_ops(rid, buf)]

    # -- sending ----------------------------------------------------------
    def flush(self, run_id: str | None = None, *, retries: int | None = None, warn: bool = True) -> bool:
        """Send what waits (of one run, or all); return whether everything reached the server.

        A server that does not answer leaves the calls in the spool (with a warning) and
        returns False; a call the server refuses is dropped with a warning.
        """
        with self._send:
            fresh = self._take(run_id)
            queue = self._retry + fresh
            mine = [op for op in queue if run_id is None or op.run_id == run_id]
            others = [op for op in queue if not (run_id is None or op.run_id == run_id)]
            for n, op in enumerate(mine):
                try:
                    self._deliver(op, retries)
                except ServerUnavailable as exc:
                    rest = mine[n:]
                    self._spool.add(rest)
                    self._retry = others + rest
                    self._went_down(exc, warn)
                    return False
                self._spool.done(op)
            self._retry = others
            if self.down_since is not None and not others:
                logger.warning("The tracking server at %s answers again: spooled data was sent.", self._t.uri)
                self.down_since = None
                self._backoff = FLUSH_INTERVAL
            return not others or run_id is not None

    def _deliver(self, op: Op, retries: int | None) -> None:
        try:
            self._t.call(op.path, "POST", op.body, retries=retries)
        except (ServerUnavailable, PermissionDenied):
            raise
        except NbtrackError as exc:
            if (
                op.path == "runs/log-batch"
                and op.body.get("params")
                and (op.body.get("metrics") or op.body.get("tags"))
            ):
                # Keep the points when a param is refused: send the params apart from them.
                self._t.call(op.path, "POST", {**op.body, "params": []}, retries=retries)
                for param in op.body["params"]:
                    single = {"run_id": op.run_id, "metrics": [], "params": [param], "tags": []}
                    with contextlib.suppress(NbtrackError):
                        self._t.call(op.path, "POST", single, retries=retries)
            self._refused(op, exc)
        if self._on_sent is not None:
            self._on_sent(op.run_id)

    def _refused(self, op: Op, exc: NbtrackError) -> None:
        message = f"The tracking server refused {op.path} for run {op.run_id}: {exc}"
        if threading.current_thread() is threading.main_thread():
            warnings.warn(message, SpoolWarning, stacklevel=4)
        else:
            logger.warning(message)

    def _went_down(self, exc: Exception, warn: bool) -> None:
        first = self.down_since is None
        if first:
            self.down_since = time.monotonic()
        message = (
            f"{exc} {len(self._spool)} call(s) of buffered data are kept in {self._spool.folder} "
            "and will be sent when the server answers again; nothing is lost."
        )
        if warn and threading.current_thread() is not self._thread:
            warnings.warn(message, SpoolWarning, stacklevel=4)
        elif first:
            logger.warning(message)

    # -- background flusher -------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._run, name="nbtrack-flusher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._backoff if self.down_since is not None else FLUSH_INTERVAL)
            self._wake.clear()
            if self._closed:
                break
            try:
                ok = self.flush(retries=0, warn=False)
            except Exception:  # never let the flusher die
                logger.exception("nbtrack's background flusher failed")
                ok = False
            self._backoff = FLUSH_INTERVAL if ok else min(self._backoff * 2, MAX_BACKOFF)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop the flusher and send what waits (at most ``timeout`` seconds of trying)."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        deadline = time.monotonic() + timeout
        ok = False
        while time.monotonic() < deadline:
            ok = self.flush(retries=0, warn=False)
            if ok:
                break
            time.sleep(0.5)
        if not ok:
            with self._send:
                self._retry.extend(self._take(None))
                self._spool.add(self._retry)
        return ok
