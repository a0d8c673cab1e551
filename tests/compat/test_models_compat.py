"""``mlflow.models`` / ``mlflow.pyfunc`` / ``mlflow.sklearn`` as MLflow's docs use them, under ``import nbtrack as mlflow``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import nbtrack as mlflow
import nbtrack.models
import nbtrack.pyfunc
import nbtrack.sklearn
from nbtrack.errors import UntrustedModel
from nbtrack.exceptions import MlflowException
from nbtrack.models import ModelSignature, infer_signature


def _fit(frame: Any) -> LogisticRegression:
    X, y = frame
    return LogisticRegression(max_iter=500).fit(X, y)


def test_infer_signature_matches_mlflows_json(frame: Any) -> None:
    X, _ = frame
    model = _fit(frame)
    sig = infer_signature(X, model.predict(X))
    as_dict = sig.to_dict()
    inputs = json.loads(as_dict["inputs"])
    assert inputs[0] == {"type": "double", "name": "mean radius", "required": True}
    assert json.loads(as_dict["outputs"]) == [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]
    assert as_dict["params"] is None
    assert ModelSignature.from_dict(as_dict) == sig
    arr_sig = infer_signature(X.to_numpy(dtype="float32"))
    assert json.loads(arr_sig.to_dict()["inputs"])[0]["tensor-spec"] == {"dtype": "float32", "shape": [-1, 4]}
    assert infer_signature(X, params={"threshold": 0.5}).params[0]["type"] == "double"


def test_log_model_returns_model_info_with_flavors_signature_and_registration(frame: Any) -> None:
    X, _ = frame
    model = _fit(frame)
    sig = infer_signature(X, model.predict(X))
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="model", signature=sig, registered_model_name="Cancer")
    assert info.model_uri == f"runs:/{run.info.run_id}/model"
    assert set(info.flavors) == {"python_function", "sklearn"}
    assert info.flavors["sklearn"]["serialization_format"] == "skops"
    assert info.signature == sig and info.signature_dict == sig.to_dict()
    assert info.registered_model_version == "1"
    version = mlflow.MlflowClient().get_model_version("Cancer", "1")
    assert version.source == f"runs:/{run.info.run_id}/model"
    assert dict(version)["aliases"] == []
    copy = mlflow.register_model("models:/Cancer/latest", "Copy")
    assert copy.source == "models:/Cancer/1"


def test_model_folder_has_an_mlmodel_file_in_mlflows_layout(frame: Any, tmp_path: Path) -> None:
    model = _fit(frame)
    mlflow.sklearn.save_model(model, tmp_path / "m", input_example=frame[0].head(3))
    text = (tmp_path / "m" / "MLmodel").read_text()
    assert "flavors:\n  python_function:\n" in text
    assert "    loader_module: mlflow.sklearn\n" in text and "    pickled_model: model.skops\n" in text
    assert {"requirements.txt", "python_env.yaml", "conda.yaml", "input_example.json"} <= {
        p.name for p in (tmp_path / "m").iterdir()
    }
    yaml = pytest.importorskip("yaml")
    parsed = yaml.safe_load(text)
    assert parsed["flavors"]["sklearn"]["serialization_format"] == "skops"
    assert json.loads(parsed["signature"]["inputs"])[0]["name"] == "mean radius"
    loaded = nbtrack.models.Model.load(tmp_path / "m")
    assert loaded.signature is not None and loaded.flavors == parsed["flavors"]


def test_saved_random_forest_loads_back_from_its_path(frame: Any, tmp_path: Path) -> None:
    X, y = frame
    forest = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y)
    mlflow.sklearn.save_model(forest, str(tmp_path / "forest"))
    loaded = mlflow.sklearn.load_model(str(tmp_path / "forest"))
    np.testing.assert_array_equal(loaded.predict(X), forest.predict(X))
    assert mlflow.pyfunc.load_model(str(tmp_path / "forest")).predict(X).shape == (len(X),)


def test_pickle_formats_are_written_and_load_only_with_trusted(frame: Any, tmp_path: Path) -> None:
    X, _ = frame
    model = _fit(frame)
    for fmt in (mlflow.sklearn.SERIALIZATION_FORMAT_PICKLE, mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE):
        folder = tmp_path / fmt
        mlflow.sklearn.save_model(model, folder, serialization_format=fmt)
        assert (folder / "model.pkl").is_file() and not (folder / "model.skops").exists()
        with pytest.raises(UntrustedModel, match="pickle"):
            mlflow.sklearn.load_model(str(folder))
        np.testing.assert_array_equal(mlflow.sklearn.load_model(str(folder), trusted=True).predict(X), model.predict(X))
    with pytest.raises(MlflowException, match="serialization_format"):
        mlflow.sklearn.save_model(model, tmp_path / "bad", serialization_format="json")


def test_pyfunc_predict_enforces_the_signature(frame: Any) -> None:
    X, _ = frame
    model = _fit(frame)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(X, model.predict(X)))
    pyfunc = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_array_equal(pyfunc.predict(X.head(10)), model.predict(X.head(10)))
    shuffled = X.head(10)[list(reversed(X.columns))].assign(extra=1)
    np.testing.assert_array_equal(pyfunc.predict(shuffled), model.predict(X.head(10)))  # reordered, extra dropped
    with pytest.raises(MlflowException, match=r"Model is missing inputs \['mean radius'\]") as missing:
        pyfunc.predict(X.drop(columns=["mean radius"]).head(3))
    assert missing.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Failed to enforce schema of data" in str(missing.value)
    as_ints = X.head(3).round().astype("int64")
    assert pyfunc.predict(as_ints).shape == (3,)  # ints widen to double, as in MLflow
    assert set(pyfunc.metadata.flavors) == {"python_function", "sklearn"}
    assert pyfunc.metadata.get_input_schema().input_names()[0] == "mean radius"
    assert isinstance(pyfunc.get_raw_model(), LogisticRegression)


def test_pyfunc_refuses_lossy_conversions(frame: Any) -> None:
    X, y = frame
    ints = X.round().astype("int64")
    model = LogisticRegression(max_iter=500).fit(ints, y)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="m", signature=infer_signature(ints))
    with pytest.raises(MlflowException, match="Can not safely convert float64 to int64"):
        mlflow.pyfunc.load_model(info.model_uri).predict(X.head(2))


def test_autologged_model_gets_a_signature_from_its_training_data(frame: Any) -> None:
    X, y = frame
    mlflow.sklearn.autolog()
    try:
        LogisticRegression(max_iter=500).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    run = mlflow.last_active_run()
    assert run is not None
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    with pytest.raises(MlflowException, match="missing inputs"):
        pyfunc.predict(X.drop(columns=["mean area"]))
