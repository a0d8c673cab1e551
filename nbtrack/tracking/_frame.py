"""Run documents → the pandas DataFrame MLflow's ``search_runs`` returns.

Each column is read with one C-level ``map`` over the documents (``itemgetter``
when every run has the same keys, ``dict.get`` otherwise): no Python bytecode
runs per cell.
"""

from __future__ import annotations

from itertools import repeat
from operator import itemgetter
from typing import Any

from nbtrack.store.documents import paused_gc

_INFO_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def _column(dicts: list[dict[str, Any]], key: str, exact: bool) -> list[Any]:
    """``[d[key] for d in dicts]`` (``exact``, raises KeyError) or with ``None`` where missing."""
    if exact:
        return list(map(itemgetter(key), dicts))
    return list(map(dict.get, dicts, repeat(key, len(dicts))))


def _info_columns(docs: list[dict[str, Any]]) -> list[list[Any]]:
    """The info columns, ``None`` where a document lacks the key."""
    try:
        return [_column(docs, name, True) for name in _INFO_COLUMNS]
    except KeyError:
        return [_column(docs, name, False) for name in _INFO_COLUMNS]


def _times(values: list[Any], np: Any, pd: Any) -> Any:
    """Epoch milliseconds → UTC datetimes (``NaT`` for ``None``)."""
    array = np.array(values)
    if array.dtype.kind == "i":  # the usual case: whole milliseconds, none missing
        return pd.to_datetime(array, unit="ms", utc=True)
    return pd.to_datetime(values, unit="ms", utc=True)


def _field_columns(dicts: list[dict[str, Any]], float_values: bool, np: Any) -> dict[str, Any]:
    """One column per key of ``dicts`` (sorted keys).

    Metric columns are float64 numpy arrays (NaN where missing; the stored
    strings ``"NaN"``/``"Infinity"``/``"-Infinity"`` parse as such); the others
    are lists holding ``None`` where a run lacks the key.
    """
    if not dicts:
        return {}
    keys = sorted(dicts[0])
    # Every dict as long as the first and holding its keys: the same key set (runs logged by one piece of code).
    exact = set(map(len, dicts)) == {len(keys)}
    if exact:
        try:
            columns = {key: _column(dicts, key, True) for key in keys}
        except KeyError:
            exact = False
    if not exact:
        keys = sorted(set().union(*dicts))
        columns = {key: _column(dicts, key, False) for key in keys}
    if float_values:
        return {key: np.array(values, dtype=np.float64) for key, values in columns.items()}
    return columns


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
        and ``tags.*`` (missing values are NA), each group sorted by key. Text
        columns get the dtype pandas infers for a list of strings, as in MLflow's
        own frame.
    """
    import numpy as np
    import pandas as pd

    with paused_gc():
        return _build(docs, np, pd)


def _build(docs: list[dict[str, Any]], np: Any, pd: Any) -> Any:
    data: dict[str, Any] = dict(zip(_INFO_COLUMNS, _info_columns(docs), strict=True))
    for name in ("start_time", "end_time"):
        data[name] = _times(data[name], np, pd)
    for field in ("metrics", "params", "tags"):
        try:
            dicts = _column(docs, field, True)
        except KeyError:
            dicts = _column(docs, field, False)
        if None in dicts:
            dicts = [d or {} for d in dicts]
        for key, column in _field_columns(dicts, field == "metrics", np).items():
            data[f"{field}.{key}"] = column
    return pd.DataFrame(data, index=pd.RangeIndex(len(docs)))
