"""Property: any call of the public API either succeeds or raises an NbtrackError, and a rejected call leaves the
store's files byte for byte as they were. (The 10,000-call version is ``benchmarks/fuzz_api.py``.)"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbtrack
import nbtrack.sklearn
from nbtrack.errors import NbtrackError

ODD = [
    None, "", " ", "\ud800", "a\udfff", "\x00", "../x", "/abs", ".", "a/", "x" * 300, 2**63, -(2**63) - 1,
    10**400, math.nan, math.inf, 1j, True, np.float64(0.5), np.int64(3), np.bool_(False), np.str_("k"),
    Decimal("1.5"), Decimal("sNaN"), Decimal("1e400"), pd.NA, pd.NaT, pd.Timestamp("2024-01-01"), [], ["a"],
    {}, {"a": 1}, {("t",): 1}, set(), b"x", object(), Path(""), Path("."),
]  # fmt: skip

values = st.one_of(
    st.sampled_from(ODD),
    st.text(max_size=20),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), st.one_of(st.floats(), st.text(max_size=5))),
)

CALLS: dict[str, tuple[Callable[..., Any], int]] = {
    "log_metric": (nbtrack.log_metric, 2),
    "log_metric step": (lambda k, val, s: nbtrack.log_metric(k, val, step=s), 3),
    "log_metric timestamp": (lambda k, val, t: nbtrack.log_metric(k, val, timestamp=t), 3),
    "log_metrics": (nbtrack.log_metrics, 1),
    "log_param": (nbtrack.log_param, 2),
    "log_params": (nbtrack.log_params, 1),
    "set_tag": (nbtrack.set_tag, 2),
    "set_tags": (nbtrack.set_tags, 1),
    "delete_tag": (nbtrack.delete_tag, 1),
    "log_text": (nbtrack.log_text, 2),
    "log_dict": (nbtrack.log_dict, 2),
    "log_artifact": (nbtrack.log_artifact, 2),
    "log_artifacts": (nbtrack.log_artifacts, 2),
    "start_run tags": (lambda t: nbtrack.start_run(tags=t, nested=True), 1),
    "start_run name": (lambda n: nbtrack.start_run(run_name=n, nested=True), 1),
    "set_experiment": (nbtrack.set_experiment, 1),
    "create_experiment": (nbtrack.create_experiment, 1),
    "get_run": (nbtrack.get_run, 1),
    "search_runs": (lambda f: nbtrack.search_runs(filter_string=f, output_format="list"), 1),
    "search_runs max": (lambda m: nbtrack.search_runs(max_results=m, output_format="list"), 1),
    "search_experiments": (lambda f: nbtrack.search_experiments(filter_string=f), 1),
    "register_model": (nbtrack.register_model, 2),
    "get_model_version": (lambda n, ver: nbtrack.MlflowClient().get_model_version(n, ver), 2),
    "set_alias": (lambda n, a, ver: nbtrack.MlflowClient().set_registered_model_alias(n, a, ver), 3),
    "transition": (lambda n, ver, s: nbtrack.MlflowClient().transition_model_version_stage(n, ver, s), 3),
    "load_model": (lambda u, t: nbtrack.sklearn.load_model(u, trusted=t), 2),
}


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("property") / "store"


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(sorted(CALLS)), args=st.lists(values, min_size=4, max_size=4))
def test_every_error_is_an_nbtrack_error_and_rejections_change_nothing(store: Path, name: str, args: list[Any]) -> None:
    nbtrack.set_tracking_uri(str(store))
    if nbtrack.active_run() is None:
        nbtrack.start_run()
    nbtrack.log_param("seed", "1")  # the store exists before the first snapshot
    fn, arity = CALLS[name]
    before = _snapshot(store)
    try:
        fn(*args[:arity])
    except NbtrackError:
        # Then the rejected call left every file of the store as it was
        assert _snapshot(store) == before, name
    finally:
        while nbtrack.active_run() is not None and len(nbtrack.tracking.state.active_runs()) > 1:
            nbtrack.end_run()
