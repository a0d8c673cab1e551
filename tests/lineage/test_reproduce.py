"""Reproduce a run's slice in a fresh kernel; the slice as a notebook."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import nbtrack
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.lineage import record as rec
from nbtrack.lineage.reproduce import compare, explain
from nbtrack.tracking import state

from .scenario import ROOT, play

NOTEBOOKS = Path(__file__).parent / "notebooks"


def _source_run(
    cells: list[str], metrics: dict[str, float], params: dict[str, str], notebook: Path | None = None
) -> str:
    """A finished run whose recorded slice is ``cells`` (the last one starts the run)."""
    client = state.get_client()
    run_id = client.create_run("0", run_name="source").info.run_id
    record = rec.SliceRecord(
        tuple(rec.SliceCell(i + 1, f"c{i}", source) for i, source in enumerate(cells)),
        executed=len(cells) + 2,
        notebook_path=str(notebook) if notebook else None,
    )
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()],
        params=[Param(k, v) for k, v in params.items()],
        tags=[RunTag(k, v) for k, v in rec.slice_tags(record, None).items()],
    )
    rec.save(client, run_id, record)
    client.set_terminated(run_id)
    return run_id


START = "import nbtrack\nwith nbtrack.start_run():\n    nbtrack.log_param('p', '1')\n    nbtrack.log_metric('m', value)"


@pytest.fixture(autouse=True)
def _kernel_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fresh kernels import this tree's nbtrack."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])))


def test_compare_reports_every_difference_and_honours_the_tolerance() -> None:
    client = state.get_client()
    a, b = client.create_run("0"), client.create_run("0")
    client.log_batch(
        a.info.run_id, metrics=[Metric("acc", 0.9, 0, 0), Metric("f1", 0.5, 0, 0)], params=[Param("C", "1")]
    )
    client.log_batch(b.info.run_id, metrics=[Metric("acc", 0.9000001, 0, 0)], params=[Param("C", "2")])
    source, new = client.get_run(a.info.run_id), client.get_run(b.info.run_id)
    diffs = compare(source, new)
    assert [(d["kind"], d["key"]) for d in diffs] == [("param", "C"), ("metric", "acc"), ("metric", "f1")]
    assert [(d["key"], d["actual"]) for d in compare(source, new, rtol=1e-3)] == [("C", "2"), ("f1", None)]
    assert "did not log f1" in explain(compare(source, new, rtol=1e-3))


def test_bad_requests_raise_before_any_kernel_starts(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no recorded slice"):
        nbtrack.reproduce(state.get_client().create_run("0").info.run_id)
    run_id = _source_run(["value = 1.0", START], {"m": 1.0}, {"p": "1"})
    with pytest.raises(InvalidParameter, match="rtol and atol"):
        nbtrack.reproduce(run_id, rtol=-0.1)
    with pytest.raises(InvalidParameter, match="in-memory"):
        nbtrack.reproduce(run_id, client=nbtrack.TrackingClient("memory:" + str(tmp_path)))
    assert len(nbtrack.search_runs(search_all_experiments=True)) == 2


@pytest.mark.slow
def test_a_matching_reproduction_is_a_new_run_tagged_with_its_source() -> None:
    run_id = _source_run(["value = 2.5", "scratch = 0", START], {"m": 2.5}, {"p": "1"})
    result = nbtrack.reproduce(run_id)
    assert result.matches, result
    assert result.error is None and result.diffs == []
    new = nbtrack.get_run(result.run_id)
    assert new.data.tags[rec.REPRODUCED_FROM] == run_id
    assert new.data.metrics == {"m": 2.5}


@pytest.mark.slow
def test_a_changed_input_file_is_named_as_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "value.txt"
    data.write_text("3.0")
    notebook = tmp_path / "analysis.ipynb"
    run_id = _source_run(["value = float(open('value.txt').read())", START], {"m": 3.0}, {"p": "1"}, notebook)
    data.write_text("4.0")  # the data changed since the run
    result = nbtrack.reproduce(run_id)
    assert not result.matches
    assert result.diffs == [{"kind": "metric", "key": "m", "expected": 3.0, "actual": 4.0}]
    assert "not seeded" in (result.error or "")
    assert nbtrack.get_run(result.run_id).data.tags["nbtrack.reproduce_matches"] == "false"
    data.unlink()
    failed = nbtrack.reproduce(run_id)
    assert failed.run_id is None
    assert failed.error is not None and failed.error.startswith("cell [1] of the slice raised FileNotFoundError")


@pytest.mark.slow
def test_a_notebook_played_out_of_order_reproduces_each_run_and_reports_its_verdict(tmp_path: Path) -> None:
    # Given a notebook run as people do: exploratory cells, C defined after the cell that uses it, then edited
    store = Path(os.environ["NBTRACK_STORE"])
    nb, errors = play(NOTEBOOKS / "tiny.ipynb", tmp_path, store)
    assert errors == {}
    runs = sorted(
        nbtrack.search_runs(output_format="list", search_all_experiments=True), key=lambda r: r.info.start_time
    )
    top = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    expected = nb.metadata["nbtrack_expect"]["baseline"]
    assert len(top) == len(expected)
    for run, expect in zip(top, expected, strict=True):
        # Then each run's slice holds just the cells it needed, and its verdict is as expected
        cells = json.loads(run.data.tags[rec.SLICE_CELLS])
        assert [c["cell_id"] for c in cells] == expect["slice"]
        assert (run.data.tags[rec.STALE] == "true") is expect["stale"]
    assert top[0].data.tags[rec.STALE_REASON] == "cell [7] `C = ...` changed after this run (re-run as [10])"
    # And reproducing each, from the code that actually ran, re-creates its params and metrics exactly
    for run in top:
        result = nbtrack.reproduce(run.info.run_id)
        assert result.matches, result
    # And the slice as a notebook runs top to bottom
    path = nbtrack.slice_notebook(top[1].info.run_id)
    assert path == tmp_path / f"tiny-slice-{top[1].info.run_id[:8]}.ipynb"
    written = nbformat.read(path, as_version=4)
    sources = [c.source for c in written.cells if c.cell_type == "code"]
    assert sources[0] == "%load_ext nbtrack"
    assert [c.metadata["nbtrack"]["cell_id"] for c in written.cells[2:]] == expected[1]["slice"]
    env = {**os.environ, "NBTRACK_STORE": str(store)}
    NotebookClient(written, timeout=300, kernel_name="python3").execute(env=env, cwd=str(tmp_path))
    assert len(nbtrack.search_runs(search_all_experiments=True)) > len(runs)
