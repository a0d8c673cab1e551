"""The demo notebooks, executed top to bottom on a real kernel against a temporary store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import nbtrack

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
REPO = NOTEBOOKS.parent

pytestmark = pytest.mark.slow


def _execute(name: str, workdir: Path) -> tuple[nbformat.NotebookNode, nbtrack.TrackingClient]:
    shutil.copy(NOTEBOOKS / name, workdir / name)
    notebook = nbformat.read(workdir / name, as_version=4)
    store = workdir / ".nbtrack"
    env = {
        **os.environ,
        "NBTRACK_STORE": str(store),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")])),
        "JPY_SESSION_NAME": str(workdir / name),
    }
    env.pop("NBTRACK_TESTING", None)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env=env, cwd=str(workdir))
    return notebook, nbtrack.TrackingClient(str(store))


def _outputs(notebook: nbformat.NotebookNode, mime: str) -> list[str]:
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if mime in data:
                found.append(str(data[mime]))
    return found


def test_quickstart_tracks_three_models_and_serves_the_production_one(tmp_path: Path) -> None:
    notebook, client = _execute("quickstart.ipynb", tmp_path)
    experiment = client.get_experiment_by_name("ChurnPrediction")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    top_level = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert sorted(r.info.run_name for r in top_level) == ["gradient-boosting", "logistic-regression", "random-forest"]
    assert all(r.info.status == "FINISHED" for r in runs)
    assert all("accuracy_score_X_test" in r.data.metrics for r in top_level)
    production = client.get_latest_versions("ChurnPrediction", stages=["Production"])
    assert [v.version for v in production] == ["1"]
    best = max(top_level, key=lambda r: r.data.metrics["accuracy_score_X_test"])
    assert production[0].run_id == best.info.run_id
    assert any(
        "accuracy of the Production model" in str(o.get("text", ""))
        for c in notebook.cells
        for o in c.get("outputs", [])
    )
    assert _outputs(notebook, "application/vnd.jupyter.widget-view+json"), "the dashboard did not render"
    assert any("logistic-regression" in html for html in _outputs(notebook, "text/html")), "no run card"


def test_gridsearch_notebook_logs_parent_children_and_test_metrics(tmp_path: Path) -> None:
    _, client = _execute("autolog_gridsearch.ipynb", tmp_path)
    experiment = client.get_experiment_by_name("BreastCancerSearch")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("estimator_name") == "GridSearchCV"]
    assert len(parents) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(children) == 6
    assert "accuracy_score_X_test" in parents[0].data.metrics
    pipelines = [r for r in runs if r.data.tags.get("estimator_name") == "Pipeline"]
    assert len(pipelines) == 1, "cross-validation must not add runs"
    assert len(runs) == 1 + 6 + 1


def test_mlflow_compat_notebook_runs_mlflow_code_unchanged(tmp_path: Path) -> None:
    _, client = _execute("mlflow_compat.ipynb", tmp_path)
    versions = client.search_model_versions("name='sk-learn-random-forest-reg-model'")
    assert sorted(v.version for v in versions) == ["1", "2"]
    by_version = {v.version: v for v in versions}
    assert by_version["2"].current_stage == "Production"
    assert "champion" in by_version["2"].aliases
