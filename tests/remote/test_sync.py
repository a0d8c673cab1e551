"""``nbtrack sync``: embedded ↔ server round trips, MLflow's own stores as sources, idempotence, the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from remote.mlflow_process import MlflowServer

import nbtrack
from nbtrack.cli import main
from nbtrack.entities import Dataset, DatasetInput, InputTag, Metric, ViewType
from nbtrack.errors import InvalidParameter
from nbtrack.sync import SOURCE_RUN_TAG, sync


def _fill(client: nbtrack.TrackingClient, tmp_path: Path) -> None:
    """Two experiments; a finished, a failed and a deleted run; files; a model with stages and an alias."""
    exp = client.create_experiment("churn", tags={"team": "ml"})
    for i, status in enumerate(["FINISHED", "FAILED", "FINISHED"]):
        run = client.create_run(exp, start_time=1_000 + i, run_name=f"run-{i}", tags={"kind": "rf"})
        rid = run.info.run_id
        client.log_batch(
            rid,
            metrics=[Metric("loss", 1.0 / (s + 1), 10_000 + s, s) for s in range(120)]
            + [Metric("nan", float("nan"), 5, 0)],
            params=[nbtrack.Param("depth", str(i)), nbtrack.Param("lr", "0.1")],
        )
        client.set_tag(rid, "note", f"run {i}")
        client.log_inputs(
            rid, [DatasetInput(Dataset("iris", f"d{i}", schema="{}"), (InputTag("mlflow.data.context", "train"),))]
        )
        (tmp_path / "model").mkdir(exist_ok=True)
        (tmp_path / "model" / "MLmodel").write_text(f"model {i}\n")
        client.log_artifacts(rid, tmp_path / "model", "model")
        client.log_text(rid, f"notes of {i}", "notes/readme.txt")
        client.set_terminated(rid, status, end_time=5_000 + i)
        if i == 2:
            client.delete_run(rid)
    client.create_run("0", start_time=500, run_name="default-run")  # left RUNNING
    runs = sorted(client.search_runs(exp, run_view_type=ViewType.ALL), key=lambda r: r.info.start_time)
    client.create_registered_model("Churn", tags={"owner": "me"}, description="churn model")
    for run in runs[:2]:
        client.create_model_version("Churn", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.transition_model_version_stage("Churn", "1", "Production")
    client.transition_model_version_stage("Churn", "2", "Staging")
    client.set_registered_model_alias("Churn", "champion", "2")


def _portrait(client: nbtrack.TrackingClient) -> dict[str, Any]:
    """Everything a sync must carry over, by experiment name and run name (ids differ between stores)."""
    out: dict[str, Any] = {}
    for exp in client.search_experiments(view_type=ViewType.ALL):
        if exp.name == "nbtrack.registry-audit":
            continue
        runs = {}
        for run in client.search_runs(exp.experiment_id, run_view_type=ViewType.ALL):
            rid = run.info.run_id
            histories = {
                key: [(m.step, m.timestamp, repr(m.value)) for m in sorted(h, key=lambda m: (m.timestamp, m.step))]
                for key, h in client.get_metric_histories(rid).items()
            }
            files = {}
            if run.info.lifecycle_stage == "active":
                for top in client.list_artifacts(rid):
                    inner = client.list_artifacts(rid, top.path) if top.is_dir else [top]
                    for item in inner:
                        files[item.path] = Path(client.download_artifacts(rid, item.path)).read_text()
            runs[run.info.run_name] = {
                "status": run.info.status,
                "start_time": run.info.start_time,
                "end_time": run.info.end_time if run.info.status != "RUNNING" else None,
                "lifecycle": run.info.lifecycle_stage,
                "params": run.data.params,
                "tags": {k: v for k, v in run.data.tags.items() if not k.startswith(("nbtrack.sync.", "mlflow.user"))},
                "histories": histories,
                "inputs": sorted((d.dataset.name, d.dataset.digest, d.context) for d in run.inputs.dataset_inputs),
                "files": files,
            }
        out[exp.name] = {"tags": {k: v for k, v in exp.tags.items() if not k.startswith("mlflow.")}, "runs": runs}
    models = {}
    for model in client.search_registered_models():
        versions = client.search_model_versions(f"name = '{model.name}'")
        models[model.name] = {
            "description": model.description,
            "tags": model.tags,
            "aliases": model.aliases,
            "versions": sorted(
                (
                    mv.version,
                    mv.current_stage,
                    client.get_run(mv.run_id).info.run_name if mv.run_id else None,
                    mv.source.rsplit("/", 1)[-1],
                )
                for mv in versions
            ),
        }
    out["models"] = models
    return out


def test_embedded_to_server_and_back_gives_identical_runs(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    # Given an embedded store with runs, files and a registry
    mlflow_server.reset()
    first = str(tmp_path / "first")
    _fill(nbtrack.TrackingClient(first), tmp_path)
    # When it is synced to the server and from there into a fresh embedded store
    up = sync(first, mlflow_server.url, progress=False)
    down = sync(mlflow_server.url, str(tmp_path / "second"), progress=False)
    # Then both copies hold the same runs, histories, files and registry as the original
    original = _portrait(nbtrack.TrackingClient(first))
    assert _portrait(nbtrack.TrackingClient(mlflow_server.url)) == original
    assert _portrait(nbtrack.TrackingClient(str(tmp_path / "second"))) == original
    assert (up.runs_copied, up.versions_copied, up.metric_points) == (4, 2, 3 * 121)
    assert down.runs_copied == 4
    # and syncing again copies nothing, either way, nor back into the original
    again = [
        sync(first, mlflow_server.url, progress=False),
        sync(mlflow_server.url, str(tmp_path / "second"), progress=False),
        sync(str(tmp_path / "second"), first, progress=False),
    ]
    assert [(s.runs_copied, s.versions_copied, s.runs_skipped) for s in again] == [(0, 0, 4)] * 3
    assert _portrait(nbtrack.TrackingClient(first)) == original


def test_mlflow_folder_and_sqlite_stores_come_into_nbtrack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 writes mlruns/ folders only when asked

    for uri in ((tmp_path / "mlruns").as_uri(), f"sqlite:///{tmp_path / 'mlflow.db'}"):
        # Given runs and a registered model written by MLflow itself
        mlflow = MlflowClient(tracking_uri=uri, registry_uri=uri)
        exp = mlflow.create_experiment("legacy", artifact_location=(tmp_path / f"art-{len(uri)}").as_uri())
        run = mlflow.create_run(exp, run_name="old-run", tags={"k": "v"})
        rid = run.info.run_id
        mlflow.log_param(rid, "alpha", "0.5")
        for step in range(5):
            mlflow.log_metric(rid, "rmse", 1.0 - step / 10, step=step, timestamp=1000 + step)
        mlflow.log_text(rid, "hello", "notes/hello.txt")
        mlflow.set_terminated(rid)
        mlflow.create_registered_model("Legacy")
        mlflow.create_model_version("Legacy", f"runs:/{rid}/notes", run_id=rid)
        mlflow.set_registered_model_alias("Legacy", "prod", "1")
        # When synced into an embedded store (by its folder for mlruns/)
        src = str(tmp_path / "mlruns") if uri.startswith("file:") else uri
        dst = str(tmp_path / f"nbtrack-{len(uri)}")
        summary = main(["sync", src, dst, "--no-progress"])
        assert summary == 0
        client = nbtrack.TrackingClient(dst)
        exp_id = client.get_experiment_by_name("legacy").experiment_id  # type: ignore[union-attr]
        (copied,) = client.search_runs(exp_id)
        # Then the run, its history, its files and the model came along
        assert copied.info.run_name == "old-run" and copied.info.status == "FINISHED"
        assert copied.data.params == {"alpha": "0.5"} and copied.data.tags["k"] == "v"
        assert copied.data.tags[SOURCE_RUN_TAG] == rid
        history = client.get_metric_history(copied.info.run_id, "rmse")
        assert [(m.step, m.timestamp) for m in history] == [(s, 1000 + s) for s in range(5)]
        assert Path(client.download_artifacts(copied.info.run_id, "notes/hello.txt")).read_text() == "hello"
        version = client.get_model_version_by_alias("Legacy", "prod")
        assert version.run_id == copied.info.run_id
        assert sync(src, dst, progress=False).runs_copied == 0


def test_cli_prints_a_summary_and_refuses_bad_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = str(tmp_path / "a")
    client = nbtrack.TrackingClient(src)
    for i in range(25):
        client.set_terminated(client.create_run("0", run_name=f"r{i}").info.run_id)
    assert main(["sync", src, str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "25 run(s) copied" in out and "0 already there" in out
    assert main(["sync", str(tmp_path / "missing"), str(tmp_path / "b")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(InvalidParameter, match="No experiment nope"):
        sync(src, str(tmp_path / "c"), experiments=["nope"])
