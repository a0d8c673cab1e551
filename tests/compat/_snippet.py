"""One MLflow snippet, run under ``mlflow`` or ``nbtrack`` (``python _snippet.py LIB STORE``); prints what it saw as JSON.

The test runs it twice, in fresh processes, and compares the outputs: what differs is an incompatibility.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from typing import Any


def _error(call: Any) -> str | None:
    try:
        call()
    except Exception as exc:
        return str(getattr(exc, "error_code", type(exc).__name__))
    return None


def main() -> None:
    lib, store = sys.argv[1], sys.argv[2]
    mlflow = importlib.import_module(lib)
    importlib.import_module(f"{lib}.models")
    if lib == "mlflow":
        mlflow.set_tracking_uri(f"file://{store}")
    out: dict[str, Any] = {}
    for name in ("a", "b", "c"):
        time.sleep(0.01)
        mlflow.create_experiment(name)
    client = mlflow.MlflowClient()
    out["experiment_order"] = [e.name for e in mlflow.search_experiments()]
    first_page = client.search_experiments(max_results=2)
    out["page"] = [[e.name for e in first_page], first_page.token is not None]
    out["second_page"] = [e.name for e in client.search_experiments(max_results=2, page_token=first_page.token)]
    mlflow.set_experiment("a")
    mlflow.set_experiment_tag("team", "ml")
    out["experiment_tags"] = {k: v for k, v in mlflow.get_experiment_by_name("a").tags.items() if k == "team"}
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_metric("rmse", 1.5, step=1)
        mlflow.set_tag("kind", "demo")
        mlflow.log_table({"x": [1, 2], "y": ["p", "q"]}, "table.json")
        with mlflow.start_run(run_name="child", nested=True) as child:
            pass
    rid = parent.info.run_id
    mlflow.log_metric("late", 2.0, run_id=rid)
    mlflow.log_params({"beta": 1}, run_id=rid)
    out["active_after"] = mlflow.active_run() is None
    run = mlflow.get_run(rid)
    out["info_keys"] = sorted(
        k
        for k in dict(run.info)
        if k
        in {
            "run_id",
            "experiment_id",
            "run_name",
            "user_id",
            "status",
            "start_time",
            "end_time",
            "artifact_uri",
            "lifecycle_stage",
        }
    )
    out["status"] = run.info.status
    out["metrics"] = dict(run.data.metrics)
    out["params"] = dict(run.data.params)
    out["parent_of_child"] = mlflow.get_parent_run(child.info.run_id).info.run_name
    out["table"] = mlflow.load_table("table.json", extra_columns=["run_id"]).drop(columns=["run_id"]).to_dict("list")
    empty = mlflow.search_runs(experiment_names=["nope"])
    out["unknown_names"] = [len(empty), list(empty.columns)]
    out["dict_experiment"] = sorted(
        k
        for k in dict(mlflow.get_experiment_by_name("a"))
        if k
        in {
            "experiment_id",
            "name",
            "artifact_location",
            "lifecycle_stage",
            "tags",
            "creation_time",
            "last_update_time",
        }
    )
    entities = importlib.import_module(f"{lib}.entities")
    out["errors"] = {
        "duplicate_param": _error(
            lambda: client.log_batch(rid, params=[entities.Param("z", "1"), entities.Param("z", "2")])
        ),
        "changed_param": _error(lambda: mlflow.log_params({"alpha": 9}, run_id=rid)),
        "missing_run": _error(lambda: client.get_run("0123456789abcdef0123456789abcdef")),
        "duplicate_experiment": _error(lambda: mlflow.create_experiment("a")),
    }
    client.delete_run(child.info.run_id)
    out["start_deleted"] = _error(lambda: mlflow.start_run(run_id=child.info.run_id)) is not None
    import pandas as pd

    frame = pd.DataFrame({"f1": [1.0, 2.0], "f2": [3, 4]})
    import numpy as np

    sig = mlflow.models.infer_signature(frame, np.array([0, 1]))
    out["signature"] = {k: json.loads(v) if v else v for k, v in sig.to_dict().items()}
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    main()
