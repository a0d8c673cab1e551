"""What ``mlflow.sklearn.autolog()`` logs for classifiers and searches, per MLflow's docs, under nbtrack."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV

import nbtrack as mlflow
import nbtrack.sklearn
from nbtrack.tracking import pending


@contextlib.contextmanager
def pending_paused() -> Iterator[None]:
    """Hold the background worker until the block ends (so the block runs before any plot is drawn)."""
    gate = threading.Event()
    pending.submit("gate", gate.wait)
    try:
        yield
    finally:
        gate.set()


PLOTS = {"training_confusion_matrix.png", "training_roc_curve.png", "training_precision_recall_curve.png"}


@pytest.fixture
def autolog() -> Iterator[None]:
    mlflow.sklearn.autolog()
    yield
    mlflow.sklearn.autolog(disable=True)


def _artifacts(run_id: str) -> set[str]:
    return {f.path for f in mlflow.MlflowClient().list_artifacts(run_id)}


def _is_png(path: Any) -> bool:
    with open(path, "rb") as fh:
        return fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_binary_classifier_gets_confusion_matrix_roc_and_pr_plots(autolog: None, frame: Any) -> None:
    X, y = frame
    LogisticRegression(max_iter=500).fit(X, y)
    run = mlflow.last_active_run()
    assert run is not None and run.info.status == "FINISHED"
    names = _artifacts(run.info.run_id)  # listing waits for the plots still being drawn
    assert names >= PLOTS | {"model"}
    for name in PLOTS:
        assert _is_png(mlflow.MlflowClient().download_artifacts(run.info.run_id, name))
    image = mlflow.artifacts.load_image(f"runs:/{run.info.run_id}/training_roc_curve.png")
    assert image.size[0] > 100 and image.size[1] > 100


def test_multiclass_classifier_gets_only_the_confusion_matrix(autolog: None) -> None:
    X, y = make_classification(n_samples=300, n_classes=3, n_informative=4, random_state=0)
    LogisticRegression(max_iter=500).fit(X, y)
    run = mlflow.last_active_run()
    assert run is not None
    names = _artifacts(run.info.run_id)
    assert "training_confusion_matrix.png" in names
    assert not names & {"training_roc_curve.png", "training_precision_recall_curve.png"}


def test_regressors_get_no_classifier_plots(autolog: None) -> None:
    X, y = make_classification(n_samples=100, random_state=0)
    LinearRegression().fit(X, y.astype(float))
    run = mlflow.last_active_run()
    assert run is not None and not _artifacts(run.info.run_id) & PLOTS


def test_plots_of_a_fit_inside_a_user_run_are_in_when_end_run_returns(autolog: None, frame: Any) -> None:
    X, y = frame
    with mlflow.start_run() as run:
        LogisticRegression(max_iter=500).fit(X, y)
    assert not pending.has_pending(run.info.run_id)
    folder = mlflow.MlflowClient().artifact_dir(run.info.run_id)
    assert {p.name for p in folder.iterdir()} >= PLOTS


def test_plots_are_drawn_off_the_calling_thread(autolog: None, frame: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbtrack.sklearn import _plots

    threads: list[str] = []
    original = _plots.confusion_matrix_png

    def spy(*args: Any, **kwargs: Any) -> bytes:
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(_plots, "confusion_matrix_png", spy)
    X, y = frame
    LogisticRegression(max_iter=500).fit(X, y)
    pending.wait()
    assert len(threads) == 1 and threads[0].startswith("nbtrack-artifacts")


def test_plots_use_the_labels_as_of_fit_even_if_y_changes_after(
    autolog: None, frame: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbtrack.sklearn import _plots

    seen: list[Any] = []
    original = _plots.confusion_matrix_png

    def spy(y_true: Any, *args: Any, **kwargs: Any) -> bytes:
        seen.append(np.array(y_true, copy=True))
        return original(y_true, *args, **kwargs)

    monkeypatch.setattr(_plots, "confusion_matrix_png", spy)
    X, y = frame
    labels = y.to_numpy().copy()
    expected = labels.copy()
    with pending_paused():
        LogisticRegression(max_iter=500).fit(X, labels)
        labels[:] = 0  # the user reuses the array right after fit, before the plots are drawn
    pending.wait()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], expected)


def test_search_logs_model_and_best_estimator(autolog: None, frame: Any) -> None:
    X, y = frame
    search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    run = mlflow.last_active_run()
    assert run is not None
    parent = mlflow.get_run(run.info.run_id)
    while "mlflow.parentRunId" in parent.data.tags:
        parent = mlflow.get_run(parent.data.tags["mlflow.parentRunId"])
    names = _artifacts(parent.info.run_id)
    assert {"model", "best_estimator"} <= names
    loaded_search = mlflow.sklearn.load_model(f"runs:/{parent.info.run_id}/model")
    best = mlflow.sklearn.load_model(f"runs:/{parent.info.run_id}/best_estimator")
    assert isinstance(loaded_search, GridSearchCV) and isinstance(best, LogisticRegression)
    assert loaded_search.best_params_ == search.best_params_
    np.testing.assert_array_equal(best.predict(X), search.predict(X))


def test_a_forked_child_does_not_wait_for_the_parents_pending_plots() -> None:
    import multiprocessing

    gate = threading.Event()
    pending.submit("parent-run", gate.wait)
    try:
        ctx = multiprocessing.get_context("fork")
        child = ctx.Process(target=pending.wait)
        child.start()
        child.join(timeout=60)
        assert child.exitcode == 0
    finally:
        gate.set()
        pending.wait()
