"""The same MLflow code under real MLflow and under nbtrack gives the same results (needs ``mlflow``, in ``dev``).

Each library runs in a fresh process on its own local store (MLflow: its file store), so neither patches or
configures the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("mlflow")

import nbtrack.sklearn

SNIPPET = Path(__file__).with_name("_snippet.py")
ROOT = Path(__file__).resolve().parents[2]


def _run(lib: str, store: Path, cwd: Path) -> dict[str, Any]:
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "NBTRACK_STORE": str(store), "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, str(SNIPPET), lib, str(store)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_same_snippet_gives_the_same_results(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "n").mkdir()
    theirs = _run("mlflow", tmp_path / "m" / "mlruns", tmp_path / "m")
    ours = _run("nbtrack", tmp_path / "n" / "store", tmp_path / "n")
    # MLflow's own stores disagree on the code of a changed param (file: INTERNAL_ERROR, SQL: INVALID_PARAMETER_VALUE);
    # both raise.
    for side in (theirs, ours):
        assert side["errors"].pop("changed_param") is not None
    assert ours == theirs


def test_mlflow_loads_a_model_folder_nbtrack_saved(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :4]
    model = LogisticRegression(max_iter=500).fit(X, y)
    signature = nbtrack.models.infer_signature(X, model.predict(X))
    nbtrack.sklearn.save_model(model, tmp_path / "saved", signature=signature)
    X.head(20).to_csv(tmp_path / "x.csv", index=False)
    code = (
        "import json, sys, pandas as pd, mlflow.pyfunc, mlflow.models\n"
        f"m = mlflow.models.Model.load({str(tmp_path / 'saved')!r})\n"
        f"p = mlflow.pyfunc.load_model({str(tmp_path / 'saved')!r})\n"
        f"pred = p.predict(pd.read_csv({str(tmp_path / 'x.csv')!r}))\n"
        "print(json.dumps({'flavors': sorted(m.flavors), 'inputs': m.signature.inputs.input_names(),"
        " 'pred': [int(v) for v in pred]}))\n"
    )
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["flavors"] == ["python_function", "sklearn"]
    assert result["inputs"] == list(X.columns)
    np.testing.assert_array_equal(result["pred"], model.predict(X.head(20)))
