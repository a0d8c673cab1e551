"""Model files: skops save/load, the digest recorded in the store, and refusing untrusted files."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

import nbtrack
import nbtrack.sklearn
from nbtrack.errors import InvalidParameter, NotFound, UntrustedModel

TREE = "sklearn.tree._tree.Tree"


class AddOne(TransformerMixin, BaseEstimator):
    """A user-defined transformer: a type from outside scikit-learn."""

    def fit(self, X: Any, y: Any = None) -> AddOne:
        return self

    def transform(self, X: Any) -> Any:
        return np.asarray(X) + 1


def _forest(data: Any) -> RandomForestClassifier:
    X_train, _, y_train, _ = data
    return RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X_train, y_train)


def _logged(model: Any, name: str = "model") -> tuple[str, Path]:
    with nbtrack.start_run() as run:
        info = nbtrack.sklearn.log_model(model, name)
    return run.info.run_id, Path(info.local_path)


def test_log_model_then_load_predicts_identically(data: Any) -> None:
    _, X_test, _, _ = data
    model = _forest(data)
    run_id, folder = _logged(model, "forest")
    assert (folder / "model.skops").is_file() and (folder / "nbtrack_model.json").is_file()
    loaded = nbtrack.sklearn.load_model(f"runs:/{run_id}/forest")
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    # The run's own artifact folder, given as a local path, is recognised too.
    np.testing.assert_array_equal(nbtrack.sklearn.load_model(str(folder)).predict(X_test), model.predict(X_test))


def test_tampered_model_file_refuses_unless_trusted(data: Any) -> None:
    _, X_test, _, _ = data
    model = _forest(data)
    run_id, folder = _logged(model)
    other = RandomForestClassifier(n_estimators=2, max_depth=1, random_state=1).fit(*data[::2])
    with nbtrack.start_run():
        other_info = nbtrack.sklearn.log_model(other, "other")
    (folder / "model.skops").write_bytes((Path(other_info.local_path) / "model.skops").read_bytes())

    with pytest.raises(UntrustedModel) as info:
        nbtrack.sklearn.load_model(f"runs:/{run_id}/model")
    assert TREE in str(info.value) and "does not match" in str(info.value)
    loaded = nbtrack.sklearn.load_model(f"runs:/{run_id}/model", trusted=True)
    np.testing.assert_array_equal(loaded.predict(X_test), other.predict(X_test))
    assert nbtrack.sklearn.load_model(f"runs:/{run_id}/model", trusted=[TREE]) is not None


def test_tampered_model_without_special_types_refuses_too(data: Any) -> None:
    X_train, X_test, y_train, _ = data
    model = LogisticRegression().fit(X_train, y_train)
    run_id, folder = _logged(model)
    swapped = LogisticRegression(C=0.001).fit(X_train, y_train)
    _, other = _logged(swapped)
    (folder / "model.skops").write_bytes((other / "model.skops").read_bytes())
    with pytest.raises(UntrustedModel, match="does not match") as info:
        nbtrack.sklearn.load_model(f"runs:/{run_id}/model")
    assert "no types beyond skops' defaults" in str(info.value)
    loaded = nbtrack.sklearn.load_model(f"runs:/{run_id}/model", trusted=[])
    np.testing.assert_array_equal(loaded.predict_proba(X_test), swapped.predict_proba(X_test))


def test_saved_folder_loads_back_and_an_edited_one_needs_trust(data: Any, tmp_path: Path) -> None:
    X_test = data[1]
    model = _forest(data)
    nbtrack.sklearn.save_model(model, tmp_path / "m")
    loaded = nbtrack.sklearn.load_model(str(tmp_path / "m"))  # the signed digest beside the file proves it is ours
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    other = RandomForestClassifier(n_estimators=4, max_depth=2, random_state=1).fit(data[0], data[2])
    nbtrack.sklearn.save_model(other, tmp_path / "other")
    (tmp_path / "m" / "model.skops").write_bytes((tmp_path / "other" / "model.skops").read_bytes())
    with pytest.raises(UntrustedModel, match="does not match") as info:
        nbtrack.sklearn.load_model(str(tmp_path / "m"))
    assert TREE in str(info.value)
    assert isinstance(nbtrack.sklearn.load_model(str(tmp_path / "m"), trusted=[TREE]), RandomForestClassifier)
    meta = tmp_path / "other" / "nbtrack_model.json"
    meta.write_text(meta.read_text().replace('"sha256_hmac": "', '"sha256_hmac": "0'))
    with pytest.raises(UntrustedModel, match="no digest recorded"):
        nbtrack.sklearn.load_model(str(tmp_path / "other"))
    with pytest.raises(InvalidParameter, match="not empty"):
        nbtrack.sklearn.save_model(model, tmp_path / "m")


def test_foreign_types_refuse_even_with_matching_digest(data: Any) -> None:
    X_train, X_test, y_train, _ = data
    pipe = Pipeline([("add", AddOne()), ("clf", LogisticRegression())]).fit(X_train, y_train)
    run_id, _ = _logged(pipe)
    with pytest.raises(UntrustedModel) as info:
        nbtrack.sklearn.load_model(f"runs:/{run_id}/model")
    foreign = f"{AddOne.__module__}.AddOne"
    assert foreign in str(info.value) and "do not belong to scikit-learn" in str(info.value)
    loaded = nbtrack.sklearn.load_model(f"runs:/{run_id}/model", trusted=[foreign])
    np.testing.assert_array_equal(loaded.predict(X_test), pipe.predict(X_test))


def test_builtin_function_reference_refuses(tmp_path: Path) -> None:
    nbtrack.sklearn.save_model({"hook": eval}, tmp_path / "evil")
    with nbtrack.start_run() as run:
        nbtrack.sklearn.log_model({"hook": eval}, "evil")
    for uri in (str(tmp_path / "evil"), f"runs:/{run.info.run_id}/evil"):
        with pytest.raises(UntrustedModel, match=r"builtins\.eval"):
            nbtrack.sklearn.load_model(uri)


def test_check_data_warns_when_data_differs(data: Any) -> None:
    X_train, X_test, y_train, y_test = data
    nbtrack.sklearn.autolog()
    LogisticRegression().fit(X_train, y_train)
    run = nbtrack.last_active_run()
    assert run is not None
    uri = f"runs:/{run.info.run_id}/model"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nbtrack.sklearn.load_model(uri, check_data=(X_train, y_train))
    with pytest.warns(UserWarning, match="differs from the data"):
        nbtrack.sklearn.load_model(uri, check_data=(X_test, y_test))
    with pytest.raises(InvalidParameter):
        nbtrack.sklearn.load_model(uri, check_data=X_test)


def test_log_model_names_and_bad_uris(data: Any) -> None:
    model = _forest(data)
    with nbtrack.start_run() as run:
        info = nbtrack.sklearn.log_model(model, artifact_path="rf")
        with pytest.raises(InvalidParameter, match="either name or artifact_path"):
            nbtrack.sklearn.log_model(model, name="a", artifact_path="b")
        with pytest.raises(InvalidParameter):
            nbtrack.sklearn.log_model(model, "../escape")
    assert info.model_uri == f"runs:/{run.info.run_id}/rf"
    with pytest.raises(InvalidParameter):
        nbtrack.sklearn.load_model("runs:/not a run id/model")
    with pytest.raises(NotFound, match=r"model\.skops"):
        nbtrack.sklearn.load_model(f"runs:/{run.info.run_id}")
    with pytest.raises(NotFound):
        nbtrack.sklearn.load_model(f"runs:/{run.info.run_id}/missing")
    with pytest.raises(NotFound):
        nbtrack.sklearn.load_model("/no/such/folder")


def test_registered_model_name_registers_and_loads_by_registry_uri(data: Any) -> None:
    X_train, X_test, y_train, y_test = data
    model = _forest(data)
    with nbtrack.start_run():
        first = nbtrack.sklearn.log_model(model, "model", registered_model_name="churn")
    assert first.registered_model_version == "1"
    nbtrack.sklearn.autolog(registered_model_name="churn")
    refit = RandomForestClassifier(n_estimators=4, max_depth=2, random_state=3).fit(X_train, y_train)
    for uri, expected in (("models:/churn/1", model), ("models:/churn/latest", refit)):
        loaded = nbtrack.sklearn.load_model(uri)
        np.testing.assert_array_equal(loaded.predict_proba(X_test), expected.predict_proba(X_test))
    with pytest.warns(UserWarning, match="differs from the data"):
        nbtrack.sklearn.load_model("models:/churn/2", check_data=(X_test, y_test))
    nbtrack.MlflowClient().transition_model_version_stage("churn", "2", "Production")
    assert isinstance(nbtrack.sklearn.load_model("models:/churn/Production"), RandomForestClassifier)
