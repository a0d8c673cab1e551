"""The disk misbehaving: full, cutting writes short, read-only; nothing that returned is lost."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from nbtrack.entities import RunStatus, ViewType
from nbtrack.errors import NbtrackError, StoreFull, StoreReadOnly
from nbtrack.store import _fileio
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient


class InjectedDisk:
    """A disk that fills up: after ``fill()`` every write puts out half its bytes, then fails with ENOSPC."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        real = os.write

        def write(fd: int, data: Any) -> int:
            if not self.full:
                return real(fd, data)
            half = len(data) // 2
            if half and not getattr(self, "_cut", False):
                self._cut = True
                return real(fd, bytes(data[:half]))  # a short write first, as a nearly full disk does
            self._cut = False
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(_fileio.os, "write", write)

    def fill(self) -> None:
        self.full = True

    def free(self) -> None:
        self.full = False


class TmpfsDisk:
    """A real tmpfs filled with a ballast file to the last few KiB."""

    def __init__(self, root: Path) -> None:
        self.ballast = root / "ballast"

    def fill(self) -> None:
        stat = os.statvfs(self.ballast.parent)
        size = max(0, stat.f_bavail * stat.f_frsize - 24 * 1024)
        with open(self.ballast, "wb") as fh:
            fh.write(b"\0" * size)

    def free(self) -> None:
        self.ballast.unlink()


def _verify(store_path: Path, returned: dict[str, list[tuple[int, float]]], ended: set[str]) -> None:
    fresh = TinyDBStore(store_path)
    client = TrackingClient(store=fresh)
    runs = {r.info.run_id: r for r in fresh.search_runs(["0"], run_view_type=ViewType.ALL)}
    for run_id, points in returned.items():
        history = [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")]
        assert history == points, run_id  # every point whose call returned, no more, none glued
        if run_id in ended:
            assert runs[run_id].info.status == RunStatus.FINISHED
            assert runs[run_id].data.metrics["loss"] == points[-1][1]
    # And the log holds no hole: every line is one JSON value
    for line in (store_path / "wal.jsonl").read_bytes().splitlines():
        orjson.loads(line)


@pytest.mark.parametrize("kind", ["tmpfs", "injected"])
def test_full_disk_raises_store_full_and_the_same_process_goes_on_after_space_is_freed(
    tmpfs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # Given a store on a disk about to fill up (a real tmpfs where it can be mounted, else injected ENOSPC)
    if kind == "tmpfs" and tmpfs.path is not None:
        root: Path = tmpfs.path
        disk: Any = TmpfsDisk(root)
    else:
        root = tmp_path
        disk = InjectedDisk(monkeypatch)
    store_path = root / "store"
    client = TrackingClient(store=TinyDBStore(store_path))
    returned: dict[str, list[tuple[int, float]]] = {}
    ended: set[str] = set()
    failures: list[NbtrackError] = []
    live: str | None = None
    for i in range(40):
        if i == 5:
            disk.fill()
        if i == 25:
            disk.free()  # space freed: the same client goes on
        try:
            if live is None:
                live = client.create_run("0", run_name=f"r{i}").info.run_id
                returned[live] = []
            for step in range(len(returned[live]), 10):
                value = i + step / 10
                client.log_metric(live, "loss", value, step=step)
                returned[live].append((step, value))
            client.set_terminated(live)
            ended.add(live)
            live = None
        except NbtrackError as exc:
            # When a call fails, it is a StoreFull saying what to do
            assert isinstance(exc, StoreFull), exc
            assert "free some space" in str(exc)
            failures.append(exc)
    assert failures, "the disk never filled up"
    # Then a fresh process sees every call that returned, and the runs ended after space was freed
    _verify(store_path, returned, ended)
    assert len(ended) >= 20


def test_short_writes_are_completed_not_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a disk that writes at most 7 bytes per call
    real = os.write
    monkeypatch.setattr(_fileio.os, "write", lambda fd, data: real(fd, bytes(data[:7])))
    client = TrackingClient(store=TinyDBStore(tmp_path / "s"))
    run_id = client.create_run("0").info.run_id
    for step in range(20):
        client.log_metric(run_id, "loss", step / 3, step=step)
    client.log_param(run_id, "p", "x" * 200)
    client.set_terminated(run_id)
    monkeypatch.undo()
    # Then every record is whole
    _verify(tmp_path / "s", {run_id: [(s, s / 3) for s in range(20)]}, {run_id})


def _read_only_checks(store_path: Path, run_id: str) -> None:
    store = TinyDBStore(store_path)
    client = TrackingClient(store=store)
    assert store.read_only and client.read_only
    assert client.get_run(run_id).data.params == {"p": "1"}
    assert [r.info.run_id for r in client.search_runs(["0"])] == [run_id]
    assert len(store.search_runs_frame(["0"])) == 1
    assert [m.name for m in store.list_registered_models()] == ["model"]
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == [0, 1]
    with pytest.raises(StoreReadOnly, match="read-only"):
        client.create_run("0")
    with pytest.raises(StoreReadOnly):
        client.create_experiment("new")
    with pytest.raises(StoreReadOnly):
        store.artifact_dir(run_id)  # no folder can be made for it: said plainly
    assert not (store_path / ".lock").exists()


def _store_for_reading(store_path: Path) -> str:
    client = TrackingClient(store=TinyDBStore(store_path))
    run_id = client.create_run("0").info.run_id
    client.log_param(run_id, "p", 1)
    client.log_metric(run_id, "loss", 0.5, step=0)
    client.log_metric(run_id, "loss", 0.4, step=1)
    client.set_terminated(run_id)
    client.store.create_registered_model("model")  # type: ignore[attr-defined]
    client.store.close()  # type: ignore[attr-defined]
    (store_path / ".lock").unlink()
    return run_id


def test_read_only_mount_is_readable_without_a_lock_file(tmpfs: Any, tmp_path: Path) -> None:
    # Given a store on a file system that is then remounted read-only (or a chmod -w folder without mounts)
    if tmpfs.path is not None:
        store_path = tmpfs.path / "store"
        run_id = _store_for_reading(store_path)
        tmpfs.remount("ro")
    else:
        store_path = tmp_path / "store"
        run_id = _store_for_reading(store_path)
        for folder in (store_path, store_path / "runs"):
            folder.chmod(0o555)
    # Then it opens for reading, says it is read-only, refuses writes clearly and writes no lock file
    _read_only_checks(store_path, run_id)


def test_chmod_minus_w_folder_is_read_only(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    run_id = _store_for_reading(store_path)
    store_path.chmod(0o555)
    try:
        if os.access(store_path, os.W_OK):  # root ignores permissions: open it read-only explicitly then
            store = TinyDBStore(store_path, read_only=True)
            assert store.read_only
            assert store.get_run(run_id).data.params == {"p": "1"}
            with pytest.raises(StoreReadOnly):
                TrackingClient(store=store).create_run("0")
        else:
            _read_only_checks(store_path, run_id)
    finally:
        store_path.chmod(0o755)


def test_a_failed_write_leaves_nothing_a_later_write_builds_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an end_run whose log append fails half-way
    client = TrackingClient(store=TinyDBStore(tmp_path / "s"))
    run_id = client.create_run("0").info.run_id
    client.log_metric(run_id, "loss", 1.0)
    disk = InjectedDisk(monkeypatch)
    disk.fill()
    with pytest.raises(StoreFull):
        client.set_terminated(run_id)
    disk.free()
    # Then the log was cut back, the run is still live, and ending it again works
    assert client.get_run(run_id).info.status == RunStatus.RUNNING
    client.set_terminated(run_id)
    fresh = TinyDBStore(tmp_path / "s")
    assert fresh.get_run(run_id).info.status == RunStatus.FINISHED
    for line in (tmp_path / "s" / "wal.jsonl").read_bytes().splitlines():
        orjson.loads(line)
