"""sklearn autolog end to end: real fits, the runs they write, and what must not create runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sklearn.metrics as skm
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_predict, cross_val_score, cross_validate, learning_curve
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import nbtrack
import nbtrack.sklearn
from nbtrack.autolog import datasets as _datasets
from nbtrack.errors import InvalidParameter
from tests.autolog.conftest import all_runs

CLASSIFIER_METRICS = {
    "training_accuracy_score",
    "training_precision_score",
    "training_recall_score",
    "training_f1_score",
    "training_log_loss",
    "training_roc_auc",
    "training_score",
}
REGRESSOR_METRICS = {
    "training_mean_squared_error",
    "training_root_mean_squared_error",
    "training_mean_absolute_error",
    "training_r2_score",
    "training_score",
}


def test_logistic_regression_fit_logs_params_tags_metrics_dataset_and_model(data: Any) -> None:
    X_train, _, y_train, _ = data
    nbtrack.sklearn.autolog()
    model = LogisticRegression(C=0.5).fit(X_train, y_train)

    (run,) = all_runs()
    assert run.info.status == "FINISHED"
    assert run.data.params == {k: str(v) for k, v in model.get_params(deep=True).items()}
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert run.data.tags["mlflow.autologging"] == "sklearn"
    assert set(run.data.metrics) == CLASSIFIER_METRICS
    y_pred, proba = model.predict(X_train), model.predict_proba(X_train)
    expected = {
        "training_accuracy_score": skm.accuracy_score(y_train, y_pred),
        "training_precision_score": skm.precision_score(y_train, y_pred, average="weighted", pos_label=None),
        "training_recall_score": skm.recall_score(y_train, y_pred, average="weighted", pos_label=None),
        "training_f1_score": skm.f1_score(y_train, y_pred, average="weighted", pos_label=None),
        "training_log_loss": skm.log_loss(y_train, y_proba=proba),
        "training_roc_auc": skm.roc_auc_score(y_train, proba[:, 1]),
        "training_score": model.score(X_train, y_train),
    }
    for key, value in expected.items():
        assert run.data.metrics[key] == pytest.approx(value, rel=1e-9), key
    (train,) = run.inputs.dataset_inputs
    assert train.context == "train"
    assert train.dataset.name == "X_train"
    assert train.dataset.digest == _datasets.digest(X_train, y_train)
    assert json.loads(train.dataset.profile)["shape"] == [160, 6]
    folder = Path(nbtrack.MlflowClient().artifact_dir(run.info.run_id)) / "model"
    meta = json.loads((folder / "nbtrack_model.json").read_text())
    assert meta["flavor"] == "sklearn"
    assert meta["training_data"]["digest"] == train.dataset.digest
    assert meta["signature"]["shape"] == [-1, 6]
    assert run.data.tags["nbtrack.model_sha256.model"] == meta["sha256"]


def test_pos_label_switches_to_binary_metrics(data: Any) -> None:
    X_train, _, y_train, _ = data
    nbtrack.sklearn.autolog(pos_label=1)
    model = LogisticRegression().fit(X_train, y_train)
    (run,) = all_runs()
    y_pred = model.predict(X_train)
    assert run.data.metrics["training_precision_score"] == pytest.approx(skm.precision_score(y_train, y_pred))
    assert run.data.metrics["training_recall_score"] == pytest.approx(skm.recall_score(y_train, y_pred))


def test_sample_weight_is_honoured_and_changes_metrics(data: Any) -> None:
    X_train, _, y_train, _ = data
    nbtrack.sklearn.autolog(log_models=False)
    weights = np.where(y_train == 1, 5.0, 0.2)
    plain = LogisticRegression().fit(X_train, y_train)
    weighted = LogisticRegression().fit(X_train, y_train, sample_weight=weights)
    run_plain, run_weighted = all_runs()
    assert run_plain.data.metrics["training_accuracy_score"] != run_weighted.data.metrics["training_accuracy_score"]
    y_pred = weighted.predict(X_train)
    assert run_weighted.data.metrics["training_accuracy_score"] == pytest.approx(
        skm.accuracy_score(y_train, y_pred, sample_weight=weights)
    )
    assert run_weighted.data.metrics["training_log_loss"] == pytest.approx(
        skm.log_loss(y_train, y_proba=weighted.predict_proba(X_train), sample_weight=weights)
    )
    assert plain is not weighted


def test_regressor_metrics() -> None:
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    nbtrack.sklearn.autolog()
    model = LinearRegression().fit(X, y)
    (run,) = all_runs()
    assert set(run.data.metrics) == REGRESSOR_METRICS
    y_pred = model.predict(X)
    mse = skm.mean_squared_error(y, y_pred)
    assert run.data.metrics["training_mean_squared_error"] == pytest.approx(mse)
    assert run.data.metrics["training_root_mean_squared_error"] == pytest.approx(mse**0.5)
    assert run.data.metrics["training_mean_absolute_error"] == pytest.approx(skm.mean_absolute_error(y, y_pred))
    assert run.data.metrics["training_r2_score"] == pytest.approx(skm.r2_score(y, y_pred))
    assert run.data.metrics["training_score"] == pytest.approx(model.score(X, y))
    schema = json.loads(run.inputs.dataset_inputs[0].dataset.schema)
    assert schema["columns"] == list(X.columns)


def test_random_forest_logs_and_loads_back_without_extra_argument(data: Any) -> None:
    X_train, X_test, y_train, _ = data
    nbtrack.sklearn.autolog()
    model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X_train, y_train)
    (run,) = all_runs()
    loaded = nbtrack.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded) is RandomForestClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))


def test_pipeline_gives_one_run_with_deep_params(data: Any) -> None:
    X_train, _, y_train, _ = data
    nbtrack.sklearn.autolog()
    Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X_train, y_train)
    (run,) = all_runs()
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert run.data.params["clf__C"] == "1.0"
    assert "steps" in run.data.params
    assert "training_accuracy_score" in run.data.metrics


def test_grid_search_logs_parent_and_best_children(data: Any, capsys: pytest.CaptureFixture[str]) -> None:
    X_train, _, y_train, _ = data
    nbtrack.sklearn.autolog(max_tuning_runs=2)
    search = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0]}, cv=3).fit(X_train, y_train)

    runs = all_runs()
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    parent = parents[0]
    assert parent.data.tags["estimator_name"] == "GridSearchCV"
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert "estimator" in parent.data.params and "estimator__C" not in parent.data.params
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert "training_accuracy_score" in parent.data.metrics
    artifacts = {f.path for f in nbtrack.MlflowClient().list_artifacts(parent.info.run_id)}
    assert {"cv_results.csv", "model"} <= artifacts
    ranks = search.cv_results_["rank_test_score"]
    best_two = {str(search.cv_results_["params"][i]["C"]) for i in np.argsort(ranks, kind="stable")[:2]}
    assert {c.data.params["C"] for c in children} == best_two
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == "FINISHED"
        assert {"mean_test_score", "rank_test_score", "std_fit_time"} <= set(child.data.metrics)
    printed = capsys.readouterr()
    assert "logged the 2 best of 3 candidates" in printed.out and "1 left out" in printed.out
    assert printed.err == ""


def test_grid_search_message_when_every_candidate_is_logged(data: Any, capsys: pytest.CaptureFixture[str]) -> None:
    X_train, _, y_train, _ = data
    nbtrack.sklearn.autolog(max_tuning_runs=None)
    GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X_train, y_train)
    printed = capsys.readouterr()
    assert "logged all 2 candidates of the parameter search as child runs" in printed.out
    assert "omitted" not in printed.out and printed.err == ""


def test_cross_validation_helpers_create_no_runs(data: Any) -> None:
    X_train, _, y_train, _ = data
    nbtrack.sklearn.autolog()
    cross_val_score(LogisticRegression(), X_train, y_train, cv=3)
    cross_validate(LogisticRegression(), X_train, y_train, cv=3)
    cross_val_predict(LogisticRegression(), X_train, y_train, cv=3)
    learning_curve(LogisticRegression(), X_train, y_train, cv=3, train_sizes=[0.5, 1.0])
    assert all_runs() == []


def test_search_with_joblib_workers_logs_each_run_once(data: Any) -> None:
    X_train, _, y_train, _ = data
    nbtrack.sklearn.autolog(max_tuning_runs=None, log_models=False)
    GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2, n_jobs=2).fit(X_train, y_train)
    assert len(all_runs()) == 3


def test_disable_restores_every_patched_attribute_exactly() -> None:
    import sklearn.model_selection

    from nbtrack.sklearn._patching import FIT_METHODS, PREDICT_METHODS, estimators_to_patch

    names = (*FIT_METHODS, *PREDICT_METHODS, "score")
    missing = object()
    before = {(cls, n): cls.__dict__.get(n, missing) for cls in estimators_to_patch() for n in names}
    metric_before = skm.accuracy_score
    cv_before = sklearn.model_selection.cross_val_score
    nbtrack.sklearn.autolog()
    assert LogisticRegression.__dict__["fit"] is not before[(LogisticRegression, "fit")]
    assert skm.accuracy_score is not metric_before
    nbtrack.sklearn.autolog(disable=True)
    after = {(cls, n): cls.__dict__.get(n, missing) for cls in estimators_to_patch() for n in names}
    assert all(after[key] is before[key] for key in before)
    assert skm.accuracy_score is metric_before
    assert sklearn.model_selection.cross_val_score is cv_before


def test_patched_descriptors_keep_availability(data: Any) -> None:
    X_train, _, y_train, _ = data
    nbtrack.sklearn.autolog()
    assert not hasattr(SVC(probability=False), "predict_proba")
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    assert not hasattr(pipe, "fit_transform")
    assert hasattr(pipe.fit(X_train, y_train), "predict_proba")


def test_fit_in_active_run_logs_there_and_second_fit_nests(data: Any) -> None:
    X_train, _, y_train, _ = data
    nbtrack.sklearn.autolog(log_models=False)
    with nbtrack.start_run() as outer:
        LogisticRegression().fit(X_train, y_train)
        LinearRegression().fit(X_train, y_train)
    runs = all_runs()
    assert len(runs) == 2
    outer_run = nbtrack.get_run(outer.info.run_id)
    assert outer_run.data.tags["estimator_name"] == "LogisticRegression"
    assert outer_run.info.status == "FINISHED"
    (child,) = [r for r in runs if r.info.run_id != outer.info.run_id]
    assert child.data.tags["mlflow.parentRunId"] == outer.info.run_id
    assert child.data.tags["estimator_name"] == "LinearRegression"
    assert child.info.status == "FINISHED"


def test_failing_fit_propagates_and_marks_run_failed(data: Any) -> None:
    X_train, _, _, _ = data
    nbtrack.sklearn.autolog()
    y_one_class = np.zeros(len(X_train))
    with pytest.raises(ValueError, match="class") as info:
        LogisticRegression().fit(X_train, y_one_class)
    assert type(info.value) is ValueError
    (run,) = all_runs()
    assert run.info.status == "FAILED"
    assert nbtrack.active_run() is None


def test_error_in_patch_code_warns_and_fit_still_returns(data: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    X_train, _, y_train, _ = data
    from nbtrack.sklearn import _metrics

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("metrics exploded")

    monkeypatch.setattr(_metrics, "training_metrics", broken)
    nbtrack.sklearn.autolog()
    monkeypatch.delenv("NBTRACK_TESTING")
    model = LogisticRegression()
    with pytest.warns(RuntimeWarning, match="metrics exploded"):
        assert model.fit(X_train, y_train) is model
    assert hasattr(model, "coef_")
    assert all_runs()[0].info.status == "FINISHED"


def test_error_in_patch_code_is_raised_under_testing(data: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    X_train, _, y_train, _ = data
    from nbtrack.sklearn import _metrics

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("metrics exploded")

    monkeypatch.setattr(_metrics, "training_metrics", broken)
    nbtrack.sklearn.autolog()
    with pytest.raises(RuntimeError, match="metrics exploded"):
        LogisticRegression().fit(X_train, y_train)


def test_post_training_metrics_log_into_the_models_run(data: Any) -> None:
    X_train, X_test, y_train, y_test = data
    nbtrack.sklearn.autolog()
    model = LogisticRegression().fit(X_train, y_train)
    predictions = model.predict(X_test)
    first = skm.accuracy_score(y_test, predictions)
    skm.accuracy_score(y_test, predictions, normalize=True)
    score = model.score(X_test, y_test)
    (run,) = all_runs()
    assert run.data.metrics["accuracy_score_X_test"] == pytest.approx(first)
    assert run.data.metrics["accuracy_score-2_X_test"] == pytest.approx(first)
    assert run.data.metrics["LogisticRegression_score_X_test"] == pytest.approx(score)
    contexts = {(d.dataset.name, d.context) for d in run.inputs.dataset_inputs}
    assert contexts == {("X_train", "train"), ("X_test", "eval")}


def test_autolog_suspended_and_exclusive_log_nothing(data: Any) -> None:
    X_train, _, y_train, _ = data
    nbtrack.sklearn.autolog()
    with nbtrack.sklearn.autolog_suspended():
        LogisticRegression().fit(X_train, y_train)
    assert all_runs() == []
    nbtrack.sklearn.autolog(exclusive=True)
    with nbtrack.start_run() as run:
        LogisticRegression().fit(X_train, y_train)
    assert nbtrack.get_run(run.info.run_id).data.params == {}
    assert len(all_runs()) == 1


def test_extra_tags_and_bad_options(data: Any) -> None:
    X_train, _, y_train, _ = data
    with pytest.raises(InvalidParameter):
        nbtrack.sklearn.autolog(max_tuning_runs=-1)
    with pytest.raises(InvalidParameter):
        nbtrack.sklearn.autolog(serialization_format="json")
    with pytest.warns(UserWarning, match="never pickle"):
        nbtrack.sklearn.autolog(serialization_format="pickle")
    nbtrack.sklearn.autolog(extra_tags={"team": "ml"}, log_models=False)
    LogisticRegression().fit(X_train, y_train)
    assert all_runs()[0].data.tags["team"] == "ml"


def test_calling_nbtrack_autolog_turns_sklearn_autolog_on_and_off(data: Any) -> None:
    X_train, _, y_train, _ = data
    nbtrack.autolog(log_models=False)
    LogisticRegression().fit(X_train, y_train)
    assert len(all_runs()) == 1
    nbtrack.autolog(disable=True)
    LogisticRegression().fit(X_train, y_train)
    assert len(all_runs()) == 1


def test_clusterer_fit_predict_logs_params_but_no_training_metrics(data: Any) -> None:
    from sklearn.cluster import KMeans

    X_train, _, _, _ = data
    nbtrack.sklearn.autolog(log_models=False)
    labels = KMeans(n_clusters=2, n_init=2, random_state=0).fit_predict(X_train)
    (run,) = all_runs()
    assert len(labels) == len(X_train)
    assert run.data.tags["estimator_name"] == "KMeans"
    assert run.data.params["n_clusters"] == "2"
    assert run.data.metrics == {}


def test_runs_are_searchable_by_training_data_fingerprint(data: Any) -> None:
    X_train, X_test, y_train, y_test = data
    nbtrack.sklearn.autolog(log_models=False)
    first = LogisticRegression().fit(X_train, y_train)
    LogisticRegression().fit(X_test, y_test)
    digest = _datasets.digest(X_train, y_train)
    found = nbtrack.search_runs(filter_string=f"datasets.digest = '{digest}'", output_format="list")
    assert [r.data.tags["estimator_name"] for r in found] == ["LogisticRegression"]
    assert found[0].data.params["C"] == str(first.C)
    by_name = nbtrack.search_runs(filter_string="datasets.name = 'X_test'", output_format="list")
    assert len(by_name) == 1 and by_name[0].info.run_id != found[0].info.run_id


def test_unsavable_model_still_logs_metrics_and_warns(data: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    X_train, _, y_train, _ = data
    from nbtrack.sklearn import _models

    def refuse(model: Any) -> bytes:
        raise InvalidParameter("cannot save this one")

    monkeypatch.setattr(_models, "serialize", refuse)
    nbtrack.sklearn.autolog()
    monkeypatch.delenv("NBTRACK_TESTING")
    with pytest.warns(RuntimeWarning, match="cannot save this one"):
        LogisticRegression().fit(X_train, y_train)
    (run,) = all_runs()
    assert set(run.data.metrics) == CLASSIFIER_METRICS
    assert "nbtrack.model_sha256.model" not in run.data.tags


def test_input_example_and_signature_options(data: Any) -> None:
    X_train, _, y_train, _ = data
    store = nbtrack.MlflowClient().store
    nbtrack.sklearn.autolog(log_input_examples=True, log_model_signatures=False)
    RandomForestClassifier(n_estimators=2, max_depth=2).fit(X_train, y_train)
    (run,) = all_runs()
    meta = json.loads((Path(store.artifact_dir(run.info.run_id)) / "model" / "nbtrack_model.json").read_text())
    assert meta["signature"] is None
    assert np.allclose(meta["input_example"], X_train[:5])
