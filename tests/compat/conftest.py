"""Data for the MLflow drop-in tests: a few columns of the breast-cancer set scikit-learn ships."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def frame() -> Any:
    """``(X, y)``: a four-column DataFrame and its binary target."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X.iloc[:, :4], y
