"""What nbtrack adds over MLflow, working on a tracking server: autolog, models, %%track, widgets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from remote.mlflow_process import MlflowServer

import nbtrack
from nbtrack import config
from nbtrack.store import clear_cache


@pytest.fixture
def on_server(mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the fluent API (and the widgets' default client) at the emptied session server."""
    mlflow_server.reset()
    monkeypatch.setenv("NBTRACK_STORE", mlflow_server.url)
    config.reset()
    clear_cache()
    return mlflow_server.url


def test_autolog_log_model_and_registry_round_trip_with_digest_check(on_server: str) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    import nbtrack.sklearn

    X, y = load_breast_cancer(return_X_y=True)
    nbtrack.sklearn.autolog(log_models=True)
    try:
        with nbtrack.start_run(run_name="fit") as run:
            model = LogisticRegression(max_iter=200).fit(X[:200], y[:200])
    finally:
        nbtrack.sklearn.autolog(disable=True)
    client = nbtrack.TrackingClient()
    got = client.get_run(run.info.run_id)
    assert got.data.params["max_iter"] == "200"
    assert any(k.startswith("training_") for k in got.data.metrics)
    # the model folder went to the server's artifact store
    from mlflow.tracking import MlflowClient

    paths = [f.path for f in MlflowClient(on_server).list_artifacts(run.info.run_id)]
    assert "model" in paths
    mv = nbtrack.register_model(f"runs:/{run.info.run_id}/model", "Churn")
    client.transition_model_version_stage("Churn", mv.version, "Production")
    # a fresh process-like view (no local copy yet) loads it back, its digest checked
    clear_cache()
    loaded = nbtrack.sklearn.load_model("models:/Churn/Production")
    assert (loaded.predict(X[:20]) == model.predict(X[:20])).all()
    assert [e.action for e in nbtrack.TrackingClient().get_model_version_events("Churn")] == [
        "create_model",
        "register",
        "transition",
    ]


def test_track_magic_records_the_cell_on_the_server(on_server: str, ip: Any) -> None:
    ip.run_cell_magic("track", "cell-run --experiment remote", "x = 41 + 1\nimport nbtrack\nnbtrack.log_metric('x', x)")
    client = nbtrack.TrackingClient()
    exp = client.get_experiment_by_name("remote")
    assert exp is not None
    (run,) = client.search_runs(exp.experiment_id)
    assert run.info.run_name == "cell-run" and run.info.status == "FINISHED"
    assert run.data.metrics == {"x": 42.0}
    assert "x = 41 + 1" in run.data.tags["nbtrack.cell_source"]


def test_widgets_list_compare_and_promote_on_the_server(on_server: str, tmp_path: Path) -> None:
    from nbtrack.widgets import ModelRegistryPanel, RunsTable

    ids = []
    for name, acc in [("a", 0.7), ("b", 0.9)]:
        with nbtrack.start_run(run_name=name) as run:
            nbtrack.log_param("kind", name)
            for step in range(5):
                nbtrack.log_metric("accuracy", acc * (step + 1) / 5, step=step)
            nbtrack.log_text("flavor: sklearn\n", "model/MLmodel")
        ids.append(run.info.run_id)
    table = RunsTable(live=False)
    assert sorted(r["name"] for r in table.records()) == ["a", "b"]
    assert "metrics.accuracy" in table.view.columns
    for run_id in ids:
        nbtrack.register_model(f"runs:/{run_id}/model", "churn")
    panel = ModelRegistryPanel(live=False)
    assert panel.model.value == "churn"
    panel.version.value = "2"
    panel.to_production.click()
    panel.confirm.click()
    # promoted in nbtrack's panel, seen by MLflow's own client
    from mlflow.tracking import MlflowClient

    assert MlflowClient(on_server).get_model_version("churn", "2").current_stage == "Production"
    # and a promotion made with MLflow's client shows in the panel after a refresh
    MlflowClient(on_server).transition_model_version_stage("churn", "1", "Staging")
    panel.refresh()
    assert "Staging" in panel.versions_html.value
