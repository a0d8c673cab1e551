"""Bad input gets an NbtrackError naming the argument, and leaves the store as it was; odd scalars are normalised."""

from __future__ import annotations

import datetime
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nbtrack
from nbtrack.errors import InvalidParameter, NbtrackError, NotFound


def _store_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def run_id() -> str:
    run = nbtrack.start_run()
    nbtrack.log_param("seed", 1)
    return run.info.run_id


def test_numpy_keys_and_values_are_stored_as_plain_python(run_id: str) -> None:
    # Given keys and values straight from numpy and pandas (feature_names_in_, np.unique, np.sqrt)
    names = np.array(["alpha", "beta"])
    nbtrack.log_params({names[0]: np.float64(0.5), names[1]: np.int64(3)})
    nbtrack.log_param(np.str_("flag"), np.bool_(True))
    nbtrack.log_metric(names[0], np.sqrt(np.float64(2.0)), step=np.int64(2))
    nbtrack.log_metrics({np.str_("m32"): np.float32(0.25), "dec": Decimal("1.5"), "yes": True, "na": pd.NA})
    # When the run ends
    nbtrack.end_run()
    # Then it is FINISHED (not KILLED) and everything reads back as plain Python
    run = nbtrack.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"seed": "1", "alpha": "0.5", "beta": "3", "flag": "True"}
    assert all(type(k) is str and type(v) is str for k, v in run.data.params.items())
    assert run.data.metrics["alpha"] == pytest.approx(math.sqrt(2.0))
    assert run.data.metrics["m32"] == 0.25 and run.data.metrics["dec"] == 1.5 and run.data.metrics["yes"] == 1.0
    assert math.isnan(run.data.metrics["na"])
    assert [m.step for m in nbtrack.get_metric_history(run_id, "alpha")] == [2]


def test_params_are_stringified_as_mlflow_does(run_id: str) -> None:
    values = {"f": 0.1, "none": None, "list": [1, 2], "dict": {"a": 1}, "np": np.float64(0.1), "dec": Decimal("2.50")}
    nbtrack.log_params(values)
    params = nbtrack.get_run(run_id).data.params
    assert {k: params[k] for k in values} == {k: str(v) for k, v in values.items()}


def test_timestamps_from_datetimes(run_id: str) -> None:
    moment = pd.Timestamp("2024-01-02T03:04:05", tz="UTC")
    nbtrack.log_metric("t", 1.0, timestamp=moment)
    nbtrack.log_metric("d", 1.0, timestamp=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc))
    expected = int(moment.timestamp() * 1000)
    assert nbtrack.get_metric_history(run_id, "t")[0].timestamp == expected
    assert nbtrack.get_metric_history(run_id, "d")[0].timestamp == expected


BAD_CALLS = [
    ("unhashable param key", lambda: nbtrack.log_param(["a"], 1), "key"),
    ("unhashable metric key", lambda: nbtrack.log_metric({"a": 1}, 1.0), "key"),
    ("unhashable tag key", lambda: nbtrack.set_tag({1}, "v"), "key"),
    ("surrogate param value", lambda: nbtrack.log_param("p", "bad\udc80"), "surrogate"),
    ("surrogate tag value", lambda: nbtrack.set_tag("t", "\ud800"), "surrogate"),
    ("surrogate in a dict of params", lambda: nbtrack.log_params({"ok": 1, "p": "\udfff"}), "surrogate"),
    ("step 2**63", lambda: nbtrack.log_metric("m", 1.0, step=2**63), "64 bits"),
    ("step below int64", lambda: nbtrack.log_metric("m", 1.0, step=-(2**63) - 1), "64 bits"),
    ("step inf", lambda: nbtrack.log_metric("m", 1.0, step=math.inf), "integer"),
    ("step as text", lambda: nbtrack.log_metric("m", 1.0, step="1"), "integer"),
    ("metric 10**400", lambda: nbtrack.log_metric("m", 10**400), "too large"),
    ("metric Decimal 1e400", lambda: nbtrack.log_metric("m", Decimal("1e400")), "too large"),
    ("metric complex", lambda: nbtrack.log_metric("m", 1j), "numbers"),
    ("timestamp 10**30", lambda: nbtrack.log_metric("m", 1.0, timestamp=10**30), "64 bits"),
    ("log_text to a folder name", lambda: nbtrack.log_text("x", "notes/"), "artifact_file"),
    ("log_text surrogate", lambda: nbtrack.log_text("\ud800", "a.txt"), "surrogate"),
    ("log_text path not a str", lambda: nbtrack.log_text("x", 5), "artifact_file"),
    ("log_dict non-str keys", lambda: nbtrack.log_dict({("a",): 1}, "d.json"), "log_dict"),
    ("log_artifact empty", lambda: nbtrack.log_artifact(""), "empty"),
    ("log_artifact folder", lambda: nbtrack.log_artifact("."), "folder"),
    ("log_artifact bytes", lambda: nbtrack.log_artifact(b"x"), "local_path"),
    ("log_artifact not a path", lambda: nbtrack.log_artifact(3), "local_path"),
    ("log_artifacts of a file", lambda: nbtrack.log_artifacts(__file__), "not a folder"),
    ("log_metrics of a list", lambda: nbtrack.log_metrics([("m", 1.0)]), "dict"),
    ("search_runs max_results text", lambda: nbtrack.search_runs(max_results="5"), "max_results"),
    ("search_runs ids int", lambda: nbtrack.search_runs(experiment_ids=5), "experiment_ids"),
    ("get_run unhashable", lambda: nbtrack.get_run({"id": 1}), "run id"),
    ("end_run bad status", lambda: nbtrack.end_run(status=pd.NA), "end_run"),
    ("register_model surrogate", lambda: nbtrack.register_model("runs:/x/model", "\ud800"), "surrogate"),
    ("version as float", lambda: nbtrack.MlflowClient().get_model_version("M", 1.5), "positive integers"),
    ("registry name a dict", lambda: nbtrack.MlflowClient().get_registered_model({}), "name"),
]


@pytest.mark.parametrize(("call", "word"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_nbtrack_error_and_changes_nothing(run_id: str, call: object, word: str) -> None:
    # Given a store with one live run
    root = Path(nbtrack.get_tracking_uri())
    nbtrack.get_run(run_id)
    before = _store_bytes(root)
    # When the bad call is made, Then an NbtrackError names the problem
    with pytest.raises(NbtrackError, match=word):
        call()  # type: ignore[operator]
    # and the store's files are byte for byte as before
    assert _store_bytes(root) == before


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"tags": "x"}, "tags must be a dict"),
        ({"tags": ["a"]}, "tags must be a dict"),
        ({"nested": "yes"}, "nested"),
        ({"run_name": 5}, "run_name"),
        ({"run_name": "\ud800"}, "surrogate"),
        ({"experiment_id": 1.5}, "experiment id"),
        ({"tags": {"k": "\udfff"}}, "surrogate"),
        ({"tags": {("k",): 1}}, "tag key"),
        ({"description": 3}, "description"),
    ],
)
def test_start_run_rejects_bad_arguments_without_creating_a_run(kwargs: dict[str, object], word: str) -> None:
    before = nbtrack.search_runs(output_format="list")
    with pytest.raises(InvalidParameter, match=word):
        nbtrack.start_run(**kwargs)  # type: ignore[arg-type]
    assert nbtrack.active_run() is None
    assert nbtrack.search_runs(output_format="list") == before


def test_experiment_names_with_surrogates_are_refused() -> None:
    with pytest.raises(InvalidParameter, match="surrogate"):
        nbtrack.set_experiment("exp\udc00")
    with pytest.raises(InvalidParameter, match="surrogate"):
        nbtrack.create_experiment("\ud83d")
    assert [e.name for e in nbtrack.search_experiments()] == ["Default"]


def test_log_artifact_of_the_working_directory_copies_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_id: str
) -> None:
    # Given a working directory holding the store itself (the default layout)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("a,b\n")
    # When the empty path or the folder is logged as one artifact, Then it is refused and nothing is copied
    for path in ("", ".", tmp_path, Path("")):
        with pytest.raises(InvalidParameter):
            nbtrack.log_artifact(path)  # type: ignore[arg-type]
    assert nbtrack.MlflowClient().list_artifacts(run_id) == []


def test_missing_file_is_not_found(run_id: str, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        nbtrack.log_artifact(tmp_path / "missing.txt")


def test_str_subclass_keys_are_plain_strings(run_id: str) -> None:
    class Name(str):
        pass

    nbtrack.set_tags({Name("team"): Name("ml")})
    nbtrack.end_run()
    tags = nbtrack.get_run(run_id).data.tags
    assert tags["team"] == "ml" and type(next(k for k in tags if k == "team")) is str
