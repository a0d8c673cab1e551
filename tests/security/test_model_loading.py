"""Crafted skops files: none runs code on ``load_model`` without ``trusted=``, even with a matching digest tag.

Each gadget is a skops schema written by hand (as an attacker who can write the store would), placed where a logged
model lives, with the run's digest tag set to the file's SHA-256, so the file looks like one nbtrack wrote. Every
payload would create a marker file if it ran; the test asserts the load is refused and the marker never appears.
Real models that nbtrack itself writes still load with no argument.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_classification

import nbtrack
import nbtrack.sklearn
from nbtrack.errors import InvalidModelFile, NbtrackError, UntrustedModel
from nbtrack.sklearn import _models

_ids = iter(range(1, 10**9))


def _node(loader: str, module: str, cls: str, **extra: Any) -> dict[str, Any]:
    return {"__class__": cls, "__module__": module, "__loader__": loader, "__id__": next(_ids), **extra}


def _str(value: str) -> dict[str, Any]:
    return _node("JsonNode", "builtins", "str", content=json.dumps(value), is_json=True)


def _tuple(*items: dict[str, Any]) -> dict[str, Any]:
    return _node("TupleNode", "builtins", "tuple", content=list(items))


def _dict(**items: dict[str, Any]) -> dict[str, Any]:
    keys = _node("ListNode", "builtins", "list", content=[_node("TypeNode", "builtins", "str") for _ in items])
    return _node("DictNode", "builtins", "dict", content=items, key_types=keys)


def _call(module: str, name: str, *args: dict[str, Any]) -> dict[str, Any]:
    """skops' ``ConstructorFromReduceNode``: ``module.name(*args)`` at load time."""
    return _node("ConstructorFromReduceNode", module, name, content=_tuple(*args))


def _estimator(module: str, cls: str, **attrs: dict[str, Any]) -> dict[str, Any]:
    return _node("ObjectNode", module, cls, content=_dict(**attrs))


def _skops(schema: dict[str, Any]) -> bytes:
    schema = {**schema, "protocol": 2, "_skops_version": "0.16.0"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return buffer.getvalue()


def _code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('ran')"


def _gadgets(marker: Path) -> dict[str, dict[str, Any]]:
    code, path = _code(marker), str(marker)
    np_runstring = ("numpy.testing._private.utils", "runstring")
    return {
        "numpy runstring (exec) as reduce": _call(*np_runstring, _str(code), _dict()),
        "numpy runstring inside an estimator": _estimator(
            "sklearn.linear_model._logistic", "LogisticRegression", C=_call(*np_runstring, _str(code), _dict())
        ),
        "numpy.save writes a file": _call("numpy", "save", _str(path), _str("x")),
        "numpy.testing public runstring": _call("numpy.testing", "runstring", _str(code), _dict()),
        "numpy array node calling a helper": _node(
            "NdArrayNode", *np_runstring, type="json", content=[code], shape=[1]
        ),
        "scipy savemat writes a file": _call("scipy.io", "savemat", _str(path), _dict()),
        "sklearn test helper runs a script": _call(
            "sklearn.utils._testing", "assert_run_python_script_without_output", _str(code)
        ),
        "sklearn reviewed type through a calling loader": _call("sklearn.tree._tree", "Tree", _str(code)),
        "sklearn reviewed function called at load": _call(
            "sklearn.feature_selection._univariate_selection", "f_classif", _str(code)
        ),
        "builtins exec": _call("builtins", "exec", _str(code)),
        "builtins eval": _call("builtins", "eval", _str(code)),
        "builtins open": _call("builtins", "open", _str(path), _str("w")),
        "function reference run at predict": _estimator(
            "sklearn.preprocessing._function_transformer",
            "FunctionTransformer",
            func=_node("FunctionNode", *np_runstring),
            kw_args=_dict(dict=_dict()),
            validate=_node("JsonNode", "builtins", "bool", content="false", is_json=True),
        ),
        "builtins exec as a function reference": _estimator(
            "sklearn.preprocessing._function_transformer",
            "FunctionTransformer",
            func=_node("FunctionNode", "builtins", "exec"),
        ),
        "operator methodcaller": _estimator(
            "sklearn.preprocessing._function_transformer",
            "FunctionTransformer",
            func=_node("OperatorFuncNode", "operator", "methodcaller", attrs=_tuple(_str("system"), _str(code))),
        ),
        "operator attrgetter": _node("OperatorFuncNode", "operator", "attrgetter", attrs=_tuple(_str("__globals__"))),
        "bound method": _node(
            "MethodNode",
            "sklearn.linear_model._logistic",
            "LogisticRegression",
            content={"func": "fit", "obj": _estimator("sklearn.linear_model._logistic", "LogisticRegression")},
        ),
        "os.system": _call("os", "system", _str(f"touch {path}")),
        "subprocess": _call("subprocess", "run", _str(f"touch {path}")),
        "a user class": _estimator("__main__", "Evil"),
        "numpy dtype type as reduce": _call("numpy", "dtype", _str(code)),
        "partial over exec": _node(
            "PartialNode",
            "functools",
            "partial",
            content={
                "func": _node("FunctionNode", "builtins", "exec"),
                "args": _tuple(_str(code)),
                "kwds": _dict(),
                "namespace": _dict(),
            },
        ),
    }


@pytest.fixture
def logged(tmp_path: Path) -> tuple[str, Path]:
    """A run holding a real logged model; returns (run id, model.skops path)."""
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(60, 4, random_state=0)
    with nbtrack.start_run() as run:
        info = nbtrack.sklearn.log_model(LogisticRegression().fit(X, y), "model")
    return run.info.run_id, _models.model_file(Path(info.local_path))


def _plant(run_id: str, path: Path, data: bytes) -> None:
    """Replace the run's model file and make the store's digest record match it (what an attacker can do)."""
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    nbtrack.tracking.MlflowClient().set_tag(run_id, _models.digest_tag("model"), sha)
    meta = path.parent / _models.META_FILE
    if meta.exists():
        doc = json.loads(meta.read_text())
        doc["sha256"] = sha
        meta.write_text(json.dumps(doc))


@pytest.mark.parametrize("name", list(_gadgets(Path("x"))))
def test_crafted_file_with_matching_digest_runs_no_code(name: str, logged: tuple[str, Path], tmp_path: Path) -> None:
    # Given a gadget planted as the run's model, its digest recorded as if nbtrack wrote it
    marker = tmp_path / "marker"
    run_id, path = logged
    _plant(run_id, path, _skops(_gadgets(marker)[name]))
    # When it is loaded without trusted=, by run URI and through the registry
    nbtrack.register_model(f"runs:/{run_id}/model", "Victim")
    nbtrack.tracking.MlflowClient().transition_model_version_stage("Victim", "1", "Production")
    for uri in (f"runs:/{run_id}/model", "models:/Victim/Production", "models:/Victim/latest"):
        with pytest.raises(NbtrackError) as caught:
            model = nbtrack.sklearn.load_model(uri)
            if hasattr(model, "transform"):
                model.transform(np.zeros((1, 1)))
        # Then it is refused as untrusted or malformed, and the payload never ran
        assert isinstance(caught.value, (UntrustedModel, InvalidModelFile)), caught.value
        assert not marker.exists(), f"{name}: code ran"


def test_the_gadgets_are_real(tmp_path: Path, logged: tuple[str, Path]) -> None:
    # Given the numpy runstring gadget, when the user explicitly trusts everything in it
    marker = tmp_path / "marker"
    run_id, path = logged
    _plant(run_id, path, _skops(_gadgets(marker)["numpy runstring (exec) as reduce"]))
    try:
        nbtrack.sklearn.load_model(f"runs:/{run_id}/model", trusted=True)
    except Exception:
        pass
    # Then the payload does run: the refusals above are what stops it
    assert marker.read_text() == "ran"


def test_untrusted_message_lists_the_gadget(tmp_path: Path, logged: tuple[str, Path]) -> None:
    run_id, path = logged
    _plant(run_id, path, _skops(_gadgets(tmp_path / "m")["numpy runstring (exec) as reduce"]))
    with pytest.raises(UntrustedModel, match=r"numpy\.testing\._private\.utils\.runstring"):
        nbtrack.sklearn.load_model(f"runs:/{run_id}/model")


@pytest.mark.parametrize(
    "data",
    [b"not a zip at all", b"PK\x03\x04broken", b"", "zip-without-schema", "deep-json", "schema-list", "zip-bomb"],
)
def test_damaged_model_file_gives_clear_error(data: Any, logged: tuple[str, Path]) -> None:
    run_id, path = logged
    if data == "zip-without-schema":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("other.txt", "x")
        data = buffer.getvalue()
    elif data == "deep-json":
        data = _zip_with_schema(b"[" * 100_000 + b"]" * 100_000)
    elif data == "schema-list":
        data = _zip_with_schema(b"[1, 2]")
    elif data == "zip-bomb":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("schema.json", "{}")
            archive.writestr("big.npy", b"\0" * (80 << 20))
        data = buffer.getvalue()
    _plant(run_id, path, data)
    with pytest.raises(InvalidModelFile, match="skops"):
        nbtrack.sklearn.load_model(f"runs:/{run_id}/model")


def _zip_with_schema(raw: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", raw)
    return buffer.getvalue()


def test_malformed_tree_is_refused_before_predict(tmp_path: Path) -> None:
    # Given a real forest whose tree arrays were edited to point a child outside the node array
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(80, 5, random_state=0)
    forest = RandomForestClassifier(n_estimators=2, max_depth=3, random_state=0).fit(X, y)
    tree = forest.estimators_[0].tree_
    state = tree.__getstate__()
    state["nodes"]["left_child"][0] = 10**6
    tree.__setstate__(state)
    with nbtrack.start_run() as run:
        nbtrack.sklearn.log_model(forest, "model")
    # When it is loaded with its (matching) digest, Then it is refused instead of reading out of bounds
    with pytest.raises(InvalidModelFile, match="malformed decision tree"):
        nbtrack.sklearn.load_model(f"runs:/{run.info.run_id}/model")


def test_tree_deeper_than_its_max_depth_is_refused() -> None:
    from sklearn.tree import DecisionTreeClassifier

    X, y = make_classification(80, 5, random_state=0)
    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    state = model.tree_.__getstate__()
    state["max_depth"] = 1
    model.tree_.__setstate__(state)
    with nbtrack.start_run() as run:
        nbtrack.sklearn.log_model(model, "model")
    with pytest.raises(InvalidModelFile):
        nbtrack.sklearn.load_model(f"runs:/{run.info.run_id}/model")


def _models_nbtrack_writes() -> dict[str, Any]:
    from sklearn import ensemble, feature_selection, linear_model, model_selection, neighbors, pipeline, preprocessing
    from sklearn.gaussian_process import GaussianProcessClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.tree import DecisionTreeClassifier

    return {
        "RandomForest": ensemble.RandomForestClassifier(n_estimators=3, random_state=0),
        "LogisticRegression": linear_model.LogisticRegression(),
        "Pipeline": pipeline.make_pipeline(preprocessing.StandardScaler(), linear_model.LogisticRegression()),
        "GridSearchCV": model_selection.GridSearchCV(DecisionTreeClassifier(), {"max_depth": [2, 3]}, cv=2),
        "GradientBoosting": ensemble.GradientBoostingClassifier(n_estimators=3),
        "HistGradientBoosting": ensemble.HistGradientBoostingClassifier(max_iter=3),
        "KNeighbors": neighbors.KNeighborsClassifier(algorithm="kd_tree"),
        "BallTree KNN": neighbors.KNeighborsClassifier(algorithm="ball_tree"),
        "SelectKBest pipeline": pipeline.make_pipeline(
            feature_selection.SelectKBest(k=3), linear_model.LogisticRegression()
        ),
        "MLP": MLPClassifier(max_iter=5),
        "GaussianProcess": GaussianProcessClassifier(),
        "Stacking": ensemble.StackingClassifier(
            [("lr", linear_model.LogisticRegression()), ("tree", DecisionTreeClassifier())]
        ),
    }


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", list(_models_nbtrack_writes()))
def test_models_nbtrack_writes_load_without_argument(name: str) -> None:
    # Given a fitted model of a common kind, logged by nbtrack
    X, y = make_classification(60, 6, random_state=0)
    model = _models_nbtrack_writes()[name].fit(X, y)
    if name == "GridSearchCV":
        model = model.best_estimator_
    with nbtrack.start_run() as run:
        nbtrack.sklearn.log_model(model, "model")
    # When loaded with no trusted= argument, Then it predicts as the original does
    loaded = nbtrack.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    assert (loaded.predict(X) == model.predict(X)).all()


def test_whole_search_object_loads_without_argument() -> None:
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    X, y = make_classification(60, 6, random_state=0)
    search = GridSearchCV(DecisionTreeClassifier(), {"max_depth": [2, 3]}, cv=3, scoring="accuracy").fit(X, y)
    with nbtrack.start_run() as run:
        nbtrack.sklearn.log_model(search, "model")
    loaded = nbtrack.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    assert (loaded.predict(X) == search.predict(X)).all()


def test_reviewed_lists_name_full_paths_only() -> None:
    # Every reviewed name is a full path that resolves: types to classes, functions to plain functions
    import importlib

    from nbtrack.sklearn import _trust

    for name in _trust.REVIEWED_TYPES | _trust.REVIEWED_FUNCTIONS:
        module, _, attr = name.rpartition(".")
        obj = getattr(importlib.import_module(module), attr)
        assert isinstance(obj, type) == (name in _trust.REVIEWED_TYPES), name
    assert not _trust.REVIEWED_TYPES & _trust.REVIEWED_FUNCTIONS
