"""The sidebar's REST API when ``--NbtrackServer.store`` is an MLflow tracking server URL."""

from __future__ import annotations

from typing import Any

import pytest
from remote.mlflow_process import MlflowServer
from tornado.httpclient import HTTPClientError

import nbtrack


async def test_version_experiments_runs_and_metrics(
    api: Any, tracking: nbtrack.TrackingClient, mlflow_server: MlflowServer
) -> None:
    # Given a run logged to the tracking server
    exp = tracking.create_experiment("demo")
    run_id = tracking.create_run(exp, run_name="first").info.run_id
    tracking.log_param(run_id, "C", 0.5)
    for step in range(3):
        tracking.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    tracking.log_metric(run_id, "odd", float("nan"))
    tracking.set_terminated(run_id)
    # Then the API reports the server as its store and lists what is on it
    assert (await api("version"))["store"] == mlflow_server.url
    assert [e["name"] for e in (await api("experiments"))["experiments"]] == ["Default", "demo"]
    (summary,) = (await api("runs", params={"experiment_id": exp}))["runs"]
    assert summary["run_id"] == run_id and summary["params"] == {"C": "0.5"}
    assert summary["metrics"]["odd"] == "NaN"
    detail = await api("runs", run_id)
    assert detail["run"]["info"]["status"] == "FINISHED"
    history = await api("runs", run_id, "metrics", "loss")
    assert [p["step"] for p in history["history"]] == [0, 1, 2]
    with pytest.raises(HTTPClientError) as info:
        await api("runs", "0" * 32)
    assert info.value.code == 404


async def test_promote_and_alias_through_the_api_land_on_the_server(
    api: Any, tracking: nbtrack.TrackingClient, mlflow_server: MlflowServer
) -> None:
    run_id = tracking.create_run("0").info.run_id
    tracking.log_text(run_id, "flavor: sklearn\n", "model/MLmodel")
    tracking.set_terminated(run_id)
    tracking.create_registered_model("Churn")
    for _ in range(2):
        tracking.create_model_version("Churn", f"runs:/{run_id}/model", run_id=run_id)
    body = await api("models", "Churn", "versions", "2", "stage", method="POST", body={"stage": "production"})
    assert body["version"]["current_stage"] == "Production"
    body = await api("models", "Churn", "aliases", method="POST", body={"alias": "champion", "version": "1"})
    assert body["model"]["aliases"] == {"champion": "1"}
    # MLflow's own client sees both changes
    from mlflow.tracking import MlflowClient

    mlflow = MlflowClient(mlflow_server.url)
    assert mlflow.get_model_version("Churn", "2").current_stage == "Production"
    assert mlflow.get_model_version_by_alias("Churn", "champion").version == "1"
    events = (await api("models", "Churn", "events"))["events"]
    assert [e["action"] for e in events] == ["create_model", "register", "register", "transition", "set_alias"]
