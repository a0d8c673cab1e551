"""Lineage recorded in a real IPython shell: %%track runs and runs started by plain cells."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.lineage import record as rec
from nbtrack.tracking import state


def _runs() -> list[nbtrack.Run]:
    runs = nbtrack.search_runs(output_format="list", search_all_experiments=True)
    return sorted(runs, key=lambda r: (r.info.start_time, r.info.run_id))


def _slice_counts(run: nbtrack.Run) -> list[int]:
    return [c["execution_count"] for c in json.loads(run.data.tags[rec.SLICE_CELLS])]


def test_a_tracked_cell_stores_its_slice(run_cell: Any) -> None:
    run_cell("import math", "imports")
    run_cell("data = [3, 1, 2]", "load")
    run_cell("print(len(data))", "peek")
    run_cell("data.sort()", "sort")
    run_cell("%%track --quiet\nbest = math.sqrt(data[-1])\nnbtrack_metric = best", "fit")
    (run,) = _runs()
    assert _slice_counts(run) == [1, 2, 4, 5]
    assert run.data.tags[rec.STALE] == "false"
    assert rec.STALE_REASON not in run.data.tags
    client = state.get_client()
    text = Path(client.download_artifacts(run.info.run_id, rec.SLICE_PY)).read_text()
    assert "# %% In[4] cell sort\ndata.sort()\n" in text
    assert "print(len(data))" not in text
    stored = rec.load(client, run.info.run_id)
    assert [c.cell_id for c in stored.cells] == ["imports", "load", "sort", "fit"]
    assert stored.executed == 5


def test_later_changes_mark_the_run_stale_in_the_store(run_cell: Any) -> None:
    run_cell("X_train = [1, 2, 3]", "split")
    run_cell("%%track --quiet\ntotal = sum(X_train)", "fit")
    run_cell("X_train = [1, 2, 3]", "split")  # the same code again: still fresh
    (run,) = _runs()
    assert nbtrack.get_run(run.info.run_id).data.tags[rec.STALE] == "false"
    run_cell("X_train = [4, 5]", "split")
    tags = nbtrack.get_run(run.info.run_id).data.tags
    assert tags[rec.STALE] == "true"
    assert tags[rec.STALE_REASON] == "cell [1] `X_train = ...` changed after this run (re-run as [4])"
    stale = nbtrack.search_runs(filter_string="tags.nbtrack.stale = 'true'", search_all_experiments=True)
    assert list(stale["run_id"]) == [run.info.run_id]


def test_cells_run_before_the_extension_was_loaded_are_read_from_history(ip: Any, run_cell: Any) -> None:
    from nbtrack.magics import load_ipython_extension, unload_ipython_extension

    unload_ipython_extension(ip)
    run_cell("base = 10")
    run_cell("other = 1")
    load_ipython_extension(ip)
    run_cell("%%track --quiet\nscaled = base * 2", "fit")
    (run,) = _runs()
    assert _slice_counts(run) == [1, 3]


def test_a_plain_cell_that_starts_runs_gives_each_its_slice(run_cell: Any) -> None:
    run_cell("import nbtrack\nrate = 0.5", "setup")
    run_cell("unrelated = 3", "scratch")
    run_cell(
        "for step in range(2):\n    with nbtrack.start_run():\n        nbtrack.log_metric('score', rate * step)",
        "loop",
    )
    runs = _runs()
    assert len(runs) == 2
    for ordinal, run in enumerate(runs):
        assert _slice_counts(run) == [1, 3]
        assert run.data.tags["nbtrack.execution_count"] == "3"
        assert run.data.tags["nbtrack.cell_id"] == "loop"
        assert rec.load(state.get_client(), run.info.run_id).ordinal == ordinal
    run_cell("rate = 0.9", "setup2")
    assert all(nbtrack.get_run(r.info.run_id).data.tags[rec.STALE] == "true" for r in runs)


def test_a_deleted_slice_cell_marks_the_run_stale_once_the_notebook_is_saved(
    run_cell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "analysis.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))

    def save(*ids: str) -> None:
        cells = [
            {"cell_type": "code", "id": i, "metadata": {}, "source": "", "outputs": [], "execution_count": None}
            for i in ids
        ]
        path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))

    run_cell("weights = [0.2, 0.8]", "w")
    run_cell("%%track --quiet\nscore = sum(weights)", "fit")
    save("w", "fit")
    run_cell("1 + 1", "scratch")
    (run,) = _runs()
    assert nbtrack.get_run(run.info.run_id).data.tags[rec.STALE] == "false"
    save("fit", "scratch")
    run_cell("2 + 2", "scratch2")
    tags = nbtrack.get_run(run.info.run_id).data.tags
    assert tags[rec.STALE] == "true"
    assert tags[rec.STALE_REASON] == "cell [1] `weights = ...` is no longer in the saved notebook"


def test_the_cell_error_still_propagates_and_the_failed_cell_is_recorded(run_cell: Any) -> None:
    result = run_cell("%%track --quiet\nvalue = 1\nraise ValueError('boom')", "bad")
    assert isinstance(result.error_in_exec, ValueError)
    run_cell("%%track --quiet\nagain = value + 1", "next")
    failed, ok = _runs()
    assert failed.info.status == "FAILED"
    stored = rec.load(state.get_client(), ok.info.run_id)
    assert [(c.execution_count, c.failed) for c in stored.cells] == [(1, True), (2, False)]


def test_a_new_shell_session_starts_a_new_lineage(ip: Any, run_cell: Any) -> None:
    run_cell("a = 1", "x")
    run_cell("b = 2", "y")
    ip.reset(new_session=True)
    run_cell("c = 3", "z")
    run_cell("%%track --quiet\nd = c + 1", "t")
    (run,) = _runs()
    assert _slice_counts(run) == [1, 2]
    assert rec.load(state.get_client(), run.info.run_id).executed == 2
