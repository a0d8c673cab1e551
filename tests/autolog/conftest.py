"""Autolog patches scikit-learn classes process-wide: undo them after every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import nbtrack
import nbtrack.sklearn
from nbtrack.autolog.state import state
from nbtrack.sklearn import _post_training


@pytest.fixture(autouse=True)
def _autolog_off() -> Iterator[None]:
    yield
    nbtrack.sklearn.autolog(disable=True)
    _post_training.reset()
    state.runs_with_fit.clear()
    state.suspended = 0
    state.depth = 0


@pytest.fixture
def data() -> tuple[Any, Any, Any, Any]:
    """A small binary classification problem split into train and test."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=240, n_features=6, random_state=0)
    return X[:160], X[160:], y[:160], y[160:]


def all_runs() -> list[Any]:
    """Every run of the default experiment, oldest first."""
    runs = nbtrack.search_runs(output_format="list", search_all_experiments=True)
    return sorted(runs, key=lambda r: r.info.start_time)
