"""Byte-level damage at many offsets of every store file: detected, never read silently; doctor recovers."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.entities import ViewType
from nbtrack.errors import StoreCorrupted
from nbtrack.store.doctor import doctor
from nbtrack.store.tinydb_store import TinyDBStore
from nbtrack.tracking.client import TrackingClient

ROOT = Path(nbtrack.__file__).resolve().parent.parent


def _build(path: Path) -> list[str]:
    """Runs in the snapshot, its backup and the log, each with a journal; a registered model."""
    store = TinyDBStore(path)
    client = TrackingClient(store=store)
    ids = []
    for i in range(9):
        run_id = client.create_run("0", run_name=f"r{i}").info.run_id
        client.log_param(run_id, "i", i)
        for step in range(3):
            client.log_metric(run_id, "loss", i + step / 10, step=step)
        client.set_terminated(run_id)
        ids.append(run_id)
        if i in (2, 5):
            store.compact()
    store.create_registered_model("model")
    store.close()
    return ids


def _state(path: Path, ids: list[str]) -> dict[str, Any]:
    """Everything a user reads from the store."""
    store = TinyDBStore(path)
    client = TrackingClient(store=store)
    runs = {r.info.run_id: r for r in store.search_runs(["0"], run_view_type=ViewType.ALL)}
    out: dict[str, Any] = {"ids": sorted(runs), "models": [m.name for m in store.list_registered_models()]}
    for run_id in ids:
        run = runs.get(run_id)
        out[run_id] = None if run is None else (run.info.status, run.data.params, run.data.metrics)
        out[run_id, "history"] = [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")]
    out["frame"] = store.search_runs_frame(["0"], run_view_type=ViewType.ALL).to_dict()
    return out


def _damage_cases(path: Path, ids: list[str], count: int) -> list[tuple[str, int]]:
    rng = random.Random(15)
    journal = next((path / "runs").rglob(f"{ids[-1]}.jsonl")).relative_to(path)
    cases = []
    for name in ("nbtrack.json", "wal.jsonl", "index.bin", str(journal)):
        size = (path / name).stat().st_size
        offsets = sorted({0, size - 1, size // 2, *(rng.randrange(size) for _ in range(count))})
        cases += [(name, offset) for offset in offsets]
    return cases


def test_one_changed_byte_anywhere_is_detected_or_harmless(tmp_path: Path) -> None:
    # Given a store and what it reads back
    good = tmp_path / "good"
    ids = _build(good)
    expected = _state(good, ids)
    outcomes = {"detected": 0, "harmless": 0}
    silent, crashes = [], []
    for name, offset in _damage_cases(good, ids, 14):
        # When one byte of one file is changed
        case = tmp_path / "case"
        shutil.rmtree(case, ignore_errors=True)
        shutil.copytree(good, case)
        raw = bytearray((case / name).read_bytes())
        raw[offset] ^= 0x5A
        (case / name).write_bytes(bytes(raw))
        # Then the store either reads exactly what it held, or raises StoreCorrupted naming the file
        try:
            got = _state(case, ids)
        except StoreCorrupted as exc:
            assert Path(name).name in str(exc) or "nbtrack doctor" in str(exc), (name, offset, exc)
            outcomes["detected"] += 1
            continue
        except Exception as exc:  # pragma: no cover - the test reports them all
            crashes.append((name, offset, repr(exc)))
            continue
        if got != expected:
            silent.append((name, offset))
        else:
            outcomes["harmless"] += 1
    assert silent == [] and crashes == []
    assert outcomes["detected"] >= 30
    print(f"damage cases: {outcomes}, silent: 0, crashes: 0")


@pytest.mark.parametrize(
    "damage",
    ["snapshot_garbage", "snapshot_emptied", "wal_truncated", "wal_deleted", "journal_garbled", "journal_cut"],
)
def test_doctor_reports_damage_and_repair_recovers_what_the_files_hold(tmp_path: Path, damage: str) -> None:
    # Given a damaged store
    path = tmp_path / "s"
    ids = _build(path)
    journal = next((path / "runs").rglob(f"{ids[-1]}.jsonl"))
    if damage == "snapshot_garbage":
        (path / "nbtrack.json").write_bytes(b"\x00garbage")
    elif damage == "snapshot_emptied":
        (path / "nbtrack.json").write_bytes(b"{}")
    elif damage == "wal_truncated":
        raw = (path / "wal.jsonl").read_bytes()
        (path / "wal.jsonl").write_bytes(raw[: len(raw) // 3])
    elif damage == "wal_deleted":
        (path / "wal.jsonl").unlink()
    elif damage == "journal_garbled":
        raw = bytearray(journal.read_bytes())
        raw[len(raw) // 2] ^= 0x20
        journal.write_bytes(bytes(raw))
    else:
        journal.write_bytes(journal.read_bytes()[:-20])
    before = {p: p.read_bytes() for p in path.rglob("*") if p.is_file() and p.name != ".lock"}
    # When the doctor checks it, it names the damage and changes nothing
    report = doctor(path)
    assert not report.ok and report.problems, report
    assert {p: p.read_bytes() for p in path.rglob("*") if p.is_file() and p.name != ".lock"} == before
    # And a damaged store refuses to be read or written
    with pytest.raises(StoreCorrupted):
        _state(path, ids)
    # When it repairs it (the command line, as a user would)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", "doctor", str(path), "--repair"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    saved = list(path.glob("damaged-*"))
    assert len(saved) == 1 and any(saved[0].rglob("*"))
    # Then the store opens, every run is there with its params and the points its journal kept
    state = _state(path, ids)
    assert set(ids) <= set(state["ids"])
    for i, run_id in enumerate(ids):
        assert state[run_id][1] == {"i": str(i)}
        history = state[run_id, "history"]
        assert history == [(s, i + s / 10) for s in range(len(history))]
        if run_id != ids[-1]:
            assert len(history) == 3
    assert doctor(path).ok
    # And it takes writes again
    TrackingClient(store=TinyDBStore(path)).create_run("0")


def test_doctor_on_a_sound_store_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "s"
    _build(path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", "doctor", str(path)], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every file is sound" in done.stdout
    assert nbtrack.doctor(path).ok
