"""Data fingerprints and the NumPy training metrics, checked against scikit-learn itself."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

from nbtrack.autolog import datasets as _datasets
from nbtrack.sklearn import _fastmetrics


def test_digest_is_stable_across_processes_and_sensitive_to_content() -> None:
    code = (
        "import numpy as np, pandas as pd; from nbtrack.autolog.datasets import digest;"
        "X = pd.DataFrame(np.arange(20.0).reshape(5, 4), columns=list('abcd'));"
        "print(digest(X, pd.Series([0, 1, 0, 1, 1], name='t')))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    X = pd.DataFrame(np.arange(20.0).reshape(5, 4), columns=list("abcd"))
    y = pd.Series([0, 1, 0, 1, 1], name="t")
    assert _datasets.digest(X, y) == other
    assert _datasets.digest(X.rename(columns={"a": "z"}), y) != other
    changed = X.copy()
    changed.iloc[0, 0] = 99.0
    assert _datasets.digest(changed, y) != other
    assert _datasets.digest(X.to_numpy(), y.to_numpy()) != other
    mixed = X.assign(city=["a", "b", "c", "d", "e"])
    assert _datasets.digest(mixed, y) == _datasets.digest(mixed.copy(), y.copy())


def test_dataset_input_describes_columns_and_shape() -> None:
    X = pd.DataFrame({"age": [1, 2, 3], "city": ["a", "b", "c"]})
    item = _datasets.dataset_input(X, None, "train", "X")
    assert item.context == "train"
    assert '"columns": ["age", "city"]' in item.dataset.schema
    assert '"shape": [3, 2]' in item.dataset.profile


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_fast_classification_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(0)
    for trial in range(60):
        k = int(rng.integers(2, 5))
        n = int(rng.integers(10, 200))
        labels = np.array(["a", "b", "c", "d"])[:k] if trial % 3 == 0 else np.arange(k) * 3
        yt, yp = rng.choice(labels, n), rng.choice(labels, n)
        if len(np.unique(yt)) < k:
            continue
        w = None if trial % 2 else rng.random(n)
        p = rng.random((n, k))
        p = np.round(p / p.sum(1, keepdims=True), 2 if trial % 5 == 0 else 8)
        p = p / p.sum(1, keepdims=True)
        pos = None if (k > 2 or trial % 4) else labels[1]
        got = _fastmetrics.classification(yt, yp, p, np.unique(yt), w, pos)
        assert got is not None
        avg = "weighted" if pos is None else "binary"
        ref = {
            "accuracy_score": skm.accuracy_score(yt, yp, sample_weight=w),
            "precision_score": skm.precision_score(yt, yp, average=avg, pos_label=pos, sample_weight=w),
            "recall_score": skm.recall_score(yt, yp, average=avg, pos_label=pos, sample_weight=w),
            "f1_score": skm.f1_score(yt, yp, average=avg, pos_label=pos, sample_weight=w),
            "log_loss": skm.log_loss(yt, y_proba=p, sample_weight=w),
        }
        if k == 2:
            ref["roc_auc"] = skm.roc_auc_score(yt, p[:, 1], sample_weight=w)
        for key, value in ref.items():
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (trial, key)


def test_fast_regression_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(1)
    for trial in range(40):
        n = int(rng.integers(3, 200))
        outputs = 1 if trial % 2 else int(rng.integers(1, 4))
        yt = rng.normal(size=(n, outputs)) if outputs > 1 else rng.normal(size=n)
        yp = yt + rng.normal(size=yt.shape)
        if trial % 7 == 0:
            yt = np.ones_like(yt)
        w = None if trial % 3 else rng.random(n)
        got = _fastmetrics.regression(yt, yp, w)
        assert got is not None
        assert got["mean_squared_error"] == pytest.approx(skm.mean_squared_error(yt, yp, sample_weight=w))
        assert got["mean_absolute_error"] == pytest.approx(skm.mean_absolute_error(yt, yp, sample_weight=w))
        assert got["r2_score"] == pytest.approx(skm.r2_score(yt, yp, sample_weight=w))


def test_unusual_targets_fall_back_to_sklearn() -> None:
    assert (
        _fastmetrics.classification(np.array([[0, 1], [1, 0]]), np.array([[0, 1], [1, 0]]), None, None, None, None)
        is None
    )
    assert _fastmetrics.regression(np.array([1.0, np.nan]), np.array([1.0, 2.0]), None) is None
