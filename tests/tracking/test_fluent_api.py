"""The module-level API (``import nbtrack as mlflow``): tracking URI, experiments, runs, search."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import nbtrack
from nbtrack.entities import ViewType
from nbtrack.errors import InvalidParameter, InvalidState, NotFound

ROOT = Path(nbtrack.__file__).resolve().parent.parent


def test_tracking_uri_defaults_to_env_and_can_be_set(tmp_path: Path) -> None:
    assert nbtrack.get_tracking_uri() == os.environ["NBTRACK_STORE"]
    nbtrack.set_tracking_uri(tmp_path / "elsewhere")
    assert nbtrack.get_tracking_uri() == str(tmp_path / "elsewhere")
    with nbtrack.start_run() as run:
        nbtrack.log_param("p", 1)
    assert (tmp_path / "elsewhere" / "wal.jsonl").exists()
    assert nbtrack.get_run(run.info.run_id).data.params == {"p": "1"}
    nbtrack.set_tracking_uri("memory:")
    assert nbtrack.get_tracking_uri() == "memory:"
    with pytest.raises(NotFound):
        nbtrack.get_run(run.info.run_id)
    with pytest.raises(InvalidParameter, match="tracking server"):
        nbtrack.set_tracking_uri("sqlite:///mlflow.db")
    with pytest.raises(InvalidParameter):
        nbtrack.set_tracking_uri("")


def test_relative_store_path_resolves_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBTRACK_STORE")
    assert nbtrack.get_tracking_uri() == str(tmp_path / ".nbtrack")
    nbtrack.set_tracking_uri("file:./here")
    assert nbtrack.get_tracking_uri() == str(tmp_path / "here")


def test_set_experiment_creates_if_missing_and_reuses(tmp_path: Path) -> None:
    exp = nbtrack.set_experiment("/Users/me/churn")
    again = nbtrack.set_experiment("/Users/me/churn")
    assert exp.experiment_id == again.experiment_id != "0"
    with nbtrack.start_run() as run:
        pass
    assert run.info.experiment_id == exp.experiment_id
    assert nbtrack.set_experiment(experiment_id=exp.experiment_id).name == "/Users/me/churn"
    with pytest.raises(InvalidParameter):
        nbtrack.set_experiment()
    with pytest.raises(NotFound):
        nbtrack.set_experiment(experiment_id="99")
    nbtrack.delete_experiment(exp.experiment_id)
    with pytest.raises(InvalidState, match="restore"):
        nbtrack.set_experiment("/Users/me/churn")
    nbtrack.restore_experiment(exp.experiment_id)
    assert nbtrack.set_experiment("/Users/me/churn").lifecycle_stage == "active"


def test_experiment_functions_mirror_mlflow() -> None:
    nbtrack.search_experiments()  # the store (and its Default experiment) exists first
    time.sleep(0.005)  # so "made" is created in a later millisecond (a tie orders by id, Default first)
    exp_id = nbtrack.create_experiment("made", tags={"a": "b"})
    assert nbtrack.get_experiment(exp_id).tags == {"a": "b"}
    found = nbtrack.get_experiment_by_name("made")
    assert found is not None and found.experiment_id == exp_id
    assert [e.name for e in nbtrack.search_experiments()] == ["made", "Default"]  # newest first, as in MLflow
    nbtrack.delete_experiment(exp_id)
    assert [e.name for e in nbtrack.search_experiments(view_type=ViewType.DELETED_ONLY)] == ["made"]
    assert [e.name for e in nbtrack.search_experiments(max_results=1, view_type=ViewType.ALL)] == ["made"]


def test_start_run_arguments_tags_description_and_resume() -> None:
    exp_id = nbtrack.create_experiment("e")
    with nbtrack.start_run(experiment_id=exp_id, run_name="named", tags={"k": 1}, description="why") as run:
        assert nbtrack.active_run() is run
    stored = nbtrack.get_run(run.info.run_id)
    assert stored.info.experiment_id == exp_id
    assert stored.info.run_name == "named"
    assert stored.data.tags["k"] == "1"
    assert stored.data.tags["mlflow.note.content"] == "why"
    assert nbtrack.active_run() is None
    # resuming a finished run makes it RUNNING again, then FINISHED
    with nbtrack.start_run(run_id=run.info.run_id) as resumed:
        assert nbtrack.get_run(resumed.info.run_id).info.status == "RUNNING"
        nbtrack.log_metric("later", 1.0)
    stored = nbtrack.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.metrics == {"later": 1.0}


def test_end_run_active_run_and_last_active_run() -> None:
    assert nbtrack.active_run() is None and nbtrack.last_active_run() is None
    run = nbtrack.start_run()
    assert nbtrack.active_run() is run
    nbtrack.end_run(status="KILLED")
    assert nbtrack.active_run() is None
    last = nbtrack.last_active_run()
    assert last is not None and last.info.run_id == run.info.run_id
    assert last.info.status == "KILLED"
    nbtrack.end_run()  # no active run: nothing happens


def test_logging_without_an_active_run_starts_one() -> None:
    nbtrack.log_metric("m", 1.0)
    run = nbtrack.active_run()
    assert run is not None
    nbtrack.end_run()
    assert nbtrack.get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_nested_runs_carry_the_parent_tag_and_end_in_order() -> None:
    with nbtrack.start_run() as parent:
        with nbtrack.start_run(nested=True) as child:
            assert nbtrack.active_run() is child
        assert nbtrack.active_run() is parent
    assert nbtrack.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert "mlflow.parentRunId" not in nbtrack.get_run(parent.info.run_id).data.tags


def test_fluent_logging_functions_end_to_end() -> None:
    with nbtrack.start_run() as run:
        assert nbtrack.log_param("a", 1) == 1
        nbtrack.log_params({"b": [1, 2], "c": None})
        nbtrack.log_metrics({"x": 1.0, "y": float("inf")}, step=2)
        nbtrack.log_metric("x", 0.5, step=3, timestamp=1700000000000)
        nbtrack.set_tag("t", 1)
        nbtrack.set_tags({"u": "v", "w": 2})
        nbtrack.delete_tag("w")
        nbtrack.log_text("hello", "a.txt")
        nbtrack.log_dict({"k": 1}, "d.json")
        uri = nbtrack.get_artifact_uri()
    stored = nbtrack.get_run(run.info.run_id)
    assert stored.data.params == {"a": "1", "b": "[1, 2]", "c": "None"}
    assert stored.data.metrics == {"x": 0.5, "y": float("inf")}
    assert stored.data.tags["t"] == "1" and stored.data.tags["u"] == "v" and "w" not in stored.data.tags
    history = nbtrack.get_metric_history(run.info.run_id, "x")
    assert [(m.step, m.value) for m in history] == [(2, 1.0), (3, 0.5)]
    assert history[1].timestamp == 1700000000000
    assert sorted(os.listdir(uri)) == ["a.txt", "d.json"]
    for bad in (lambda: nbtrack.log_params([1]), lambda: nbtrack.log_metrics([1]), lambda: nbtrack.set_tags(1)):
        with pytest.raises(InvalidParameter):
            bad()  # type: ignore[no-untyped-call]


def test_delete_and_restore_run() -> None:
    with nbtrack.start_run() as run:
        pass
    nbtrack.delete_run(run.info.run_id)
    assert nbtrack.search_runs().empty
    assert len(nbtrack.search_runs(run_view_type=ViewType.DELETED_ONLY)) == 1
    nbtrack.restore_run(run.info.run_id)
    assert list(nbtrack.search_runs()["run_id"]) == [run.info.run_id]


def test_automatic_tags_user_source_git_python_and_packages() -> None:
    import numpy  # imported, so its version is recorded

    with nbtrack.start_run() as run:
        pass
    tags = nbtrack.get_run(run.info.run_id).data.tags
    assert tags["mlflow.user"]
    assert run.info.user_id == tags["mlflow.user"]
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.name"] == sys.argv[0]
    assert tags["nbtrack.python"] == platform.python_version()
    assert tags["nbtrack.version"] == nbtrack.__version__
    assert f"numpy=={numpy.__version__}" in tags["nbtrack.packages"]


def test_notebook_path_becomes_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/train.ipynb")
    with nbtrack.start_run() as run:
        pass
    tags = nbtrack.get_run(run.info.run_id).data.tags
    assert tags["mlflow.source.name"] == "/home/me/train.ipynb"
    assert tags["mlflow.source.type"] == "NOTEBOOK"


def test_git_commit_tag_in_a_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@e"
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "x"], cwd=repo, check=True, env=env)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True)
    code = (
        "import nbtrack; nbtrack.set_tracking_uri('memory:')\n"
        "with nbtrack.start_run() as r: pass\n"
        "print(nbtrack.get_run(r.info.run_id).data.tags.get('mlflow.source.git.commit'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.strip() == head.stdout.strip()


# -- search_runs -----------------------------------------------------------
def _three_runs() -> list[str]:
    ids = []
    for i in range(3):
        with nbtrack.start_run(run_name=f"r{i}") as run:
            nbtrack.log_param("i", i)
            nbtrack.log_metric("acc", i / 10)
            if i == 2:
                nbtrack.log_metric("only_last", float("nan"))
        ids.append(run.info.run_id)
        time.sleep(0.002)  # distinct start times
    return ids


def test_search_runs_dataframe_has_mlflow_columns() -> None:
    ids = _three_runs()
    df = nbtrack.search_runs()
    assert isinstance(df, pd.DataFrame)
    info = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    assert list(df.columns[:6]) == info
    rest = list(df.columns[6:])
    metrics = [c for c in rest if c.startswith("metrics.")]
    params = [c for c in rest if c.startswith("params.")]
    tags = [c for c in rest if c.startswith("tags.")]
    assert rest == metrics + params + tags  # grouped in MLflow's order
    assert metrics == ["metrics.acc", "metrics.only_last"]
    assert params == ["params.i"]
    assert "tags.mlflow.runName" in tags
    assert list(df["run_id"]) == ids[::-1]  # newest first
    assert list(df["params.i"]) == ["2", "1", "0"]
    assert list(df["metrics.acc"]) == [0.2, 0.1, 0.0]
    assert df["metrics.only_last"].isna().all()  # NaN logged, NaN where never logged
    assert str(df["start_time"].dtype).startswith("datetime64") and str(df["start_time"].dt.tz) == "UTC"
    assert (df["status"] == "FINISHED").all()


def test_search_runs_empty_and_list_and_max_results() -> None:
    empty = nbtrack.search_runs()
    assert empty.empty
    assert list(empty.columns) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    ids = _three_runs()
    runs = nbtrack.search_runs(output_format="list")
    assert [r.info.run_id for r in runs] == ids[::-1]
    assert len(nbtrack.search_runs(max_results=2)) == 2
    with pytest.raises(InvalidParameter, match="output_format"):
        nbtrack.search_runs(output_format="json")


def test_search_runs_by_experiment_ids_and_names() -> None:
    a = nbtrack.set_experiment("/team/a")
    with nbtrack.start_run() as in_a:
        pass
    nbtrack.set_experiment("/team/b")
    with nbtrack.start_run() as in_b:
        pass
    assert list(nbtrack.search_runs()["run_id"]) == [in_b.info.run_id]  # the active experiment
    assert list(nbtrack.search_runs(experiment_ids=[a.experiment_id])["run_id"]) == [in_a.info.run_id]
    both = nbtrack.search_runs(experiment_names=["/team/a", "/team/b"], output_format="list")
    assert {r.info.run_id for r in both} == {in_a.info.run_id, in_b.info.run_id}
    everything = nbtrack.search_runs(search_all_experiments=True)
    assert set(everything["run_id"]) == {in_a.info.run_id, in_b.info.run_id}
    assert nbtrack.search_runs(experiment_names=["nope"]).empty  # unknown names are skipped, as in MLflow
