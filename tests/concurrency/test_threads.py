"""Threads: each thread has its own active run, as in MLflow; autolog and %%track work from worker threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import nbtrack
from nbtrack.errors import InvalidState


def _in_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:  # re-raised in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_threads_each_hold_their_own_run_at_once() -> None:
    # Given four threads that each start a run while the others' runs are active
    inside = threading.Barrier(4)

    def work(i: int) -> str:
        with nbtrack.start_run(run_name=f"t{i}") as run:
            inside.wait()  # every thread is inside its run here
            nbtrack.log_param("thread", i)
            for step in range(20):
                nbtrack.log_metric("loss", 1.0 / (step + 1) + i, step=step)
            assert nbtrack.active_run() is not None and nbtrack.active_run().info.run_id == run.info.run_id
        return run.info.run_id

    # When they all run at once
    run_ids = _in_threads(4, work)
    # Then there are four finished runs, each with its own thread's param and 20 points
    assert len(set(run_ids)) == 4
    for i, run_id in enumerate(run_ids):
        run = nbtrack.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert run.data.params == {"thread": str(i)}
        history = nbtrack.MlflowClient().get_metric_history(run_id, "loss")
        assert [m.step for m in history] == list(range(20))
        assert history[-1].value == pytest.approx(1 / 20 + i)
    assert nbtrack.active_run() is None


def test_a_thread_logging_without_a_run_gets_its_own_run_not_the_main_threads() -> None:
    # Given a run active in the main thread
    with nbtrack.start_run() as main:
        # When a worker thread logs without starting a run
        other = _in_threads(1, lambda _i: (nbtrack.log_metric("m", 2.0), nbtrack.active_run().info.run_id)[1])[0]
        nbtrack.log_metric("m", 1.0)
    # Then the worker's point went to a run of its own, the main run holds only its own point
    assert other != main.info.run_id
    assert nbtrack.get_run(main.info.run_id).data.metrics == {"m": 1.0}
    assert nbtrack.get_run(other).data.metrics == {"m": 2.0}


def test_starting_a_second_run_in_the_same_thread_still_raises() -> None:
    with nbtrack.start_run(), pytest.raises(InvalidState, match="already active"):
        nbtrack.start_run()


def test_nested_runs_in_a_thread_link_to_that_threads_parent() -> None:
    def work(i: int) -> tuple[str, str]:
        with nbtrack.start_run() as parent, nbtrack.start_run(nested=True) as child:
            return parent.info.run_id, child.info.run_id

    pairs = _in_threads(3, work)
    for parent, child in pairs:
        assert nbtrack.get_run(child).data.tags["mlflow.parentRunId"] == parent


def test_autolog_logs_a_fit_in_a_worker_thread_to_that_threads_run() -> None:
    sklearn = pytest.importorskip("sklearn")
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    del sklearn
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    nbtrack.sklearn.autolog(log_models=False, silent=True)
    try:

        def work(i: int) -> str:
            with nbtrack.start_run(run_name=f"fit{i}") as run:
                LogisticRegression(C=0.5 + i, max_iter=200).fit(X, y)
            return run.info.run_id

        # When two threads fit at the same time, each inside its own run
        run_ids = _in_threads(2, work)
    finally:
        nbtrack.sklearn.autolog(disable=True)
    # Then each run holds its own fit's params and training metrics, and no other run was made
    for i, run_id in enumerate(run_ids):
        run = nbtrack.get_run(run_id)
        assert run.data.params["C"] == str(0.5 + i)
        assert "training_accuracy_score" in run.data.metrics
    assert len(nbtrack.search_runs()) == 2


def test_autolog_in_a_thread_without_a_run_starts_one_for_it() -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import make_classification
    from sklearn.tree import DecisionTreeClassifier

    X, y = make_classification(n_samples=80, n_features=4, random_state=1)
    nbtrack.sklearn.autolog(log_models=False, silent=True)
    try:
        _in_threads(1, lambda _i: DecisionTreeClassifier(max_depth=2).fit(X, y))
    finally:
        nbtrack.sklearn.autolog(disable=True)
    runs = nbtrack.search_runs()
    assert len(runs) == 1
    assert runs.iloc[0]["params.max_depth"] == "2"
    assert runs.iloc[0]["status"] == "FINISHED"


def test_ensemble_worker_threads_add_no_runs() -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import make_classification
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    X, y = make_classification(n_samples=100, n_features=4, random_state=2)
    nbtrack.sklearn.autolog(log_models=False, silent=True)
    try:
        from joblib import parallel_backend

        with parallel_backend("threading", n_jobs=2):
            BaggingClassifier(DecisionTreeClassifier(), n_estimators=6, n_jobs=2, random_state=0).fit(X, y)
    finally:
        nbtrack.sklearn.autolog(disable=True)
    # Then the bagging fit is one run; the trees fitted in joblib's threads made none
    runs = nbtrack.search_runs()
    assert len(runs) == 1
    assert runs.iloc[0]["tags.estimator_name"] == "BaggingClassifier"


def test_track_magic_in_a_worker_thread(ip: Any) -> None:
    def work(i: int) -> None:
        ip.run_cell_magic(
            "track", f"thread-run-{i} --quiet", f"value_{i} = {i}\nimport nbtrack\nnbtrack.log_metric('v', {i})"
        )

    _in_threads(2, work)
    runs = nbtrack.search_runs(order_by=["attributes.run_name"])
    assert list(runs["tags.mlflow.runName"]) == ["thread-run-0", "thread-run-1"]
    assert list(runs["metrics.v"]) == [0.0, 1.0]
    assert set(runs["status"]) == {"FINISHED"}
