"""Run documents → the pandas DataFrame MLflow's ``search_runs`` returns."""

from __future__ import annotations

from typing import Any

from nbtrack.store._backend import paused_gc

_INFO_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def _columns(docs: list[dict[str, Any]], field: str) -> dict[str, list[Any]]:
    """One list per key of ``doc[field]`` (sorted keys), ``None`` where a run lacks the key."""
    dicts = [d.get(field) or {} for d in docs]
    keys: set[str] = set().union(*dicts) if dicts else set()
    return {key: [d.get(key) for d in dicts] for key in sorted(keys)}


def runs_frame(docs: list[dict[str, Any]]) -> Any:
    """Build MLflow's ``search_runs`` DataFrame from run documents.

    Parameters
    ----------
    docs : list of dict
        Run documents as :meth:`AbstractStore.search_run_docs` returns them.

    Returns
    -------
    pandas.DataFrame
        Columns ``run_id, experiment_id, status, artifact_uri, start_time, end_time``
        (UTC datetimes), then ``metrics.*`` (float64, NaN where missing), ``params.*``
        and ``tags.*`` (``None`` where missing), each group sorted by key.
    """
    import numpy as np
    import pandas as pd

    with paused_gc():
        return _build(docs, np, pd)


def _build(docs: list[dict[str, Any]], np: Any, pd: Any) -> Any:
    data: dict[str, Any] = {name: [d.get(name) for d in docs] for name in _INFO_COLUMNS}
    for name in ("start_time", "end_time"):
        data[name] = pd.to_datetime(data[name], unit="ms", utc=True)
    for field in ("metrics", "params", "tags"):
        for key, values in _columns(docs, field).items():
            # Stored NaN/±inf are the strings "NaN"/"Infinity"/"-Infinity"; numpy parses them, None → NaN.
            data[f"{field}.{key}"] = np.array(values, dtype=np.float64) if field == "metrics" else values
    return pd.DataFrame(data, index=pd.RangeIndex(len(docs)))
