"""Run documents → the pandas DataFrame MLflow's ``search_runs`` returns.

Each column is read with one C-level ``map`` over the documents (``itemgetter``
when every run has the same keys, ``dict.get`` otherwise): no Python bytecode
runs per cell.
"""

from __future__ import annotations

from itertools import repeat
from operator import itemgetter
from typing import Any

from nbtrack.store._columns import MISSING, RunColumns, Strings
from nbtrack.store._snapshot import paused_gc

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


def columns_frame(columns: RunColumns, rows: Any) -> Any:
    """Build the same DataFrame as :func:`runs_frame` from columns, for the runs at ``rows`` (in order).

    Parameters
    ----------
    columns : RunColumns
        The runs table's columns.
    rows : numpy.ndarray
        Row numbers of the runs to show, in the order wanted.

    Returns
    -------
    pandas.DataFrame
        Identical to ``runs_frame`` of the same runs' documents.
    """
    import numpy as np
    import pandas

    pd: Any = pandas
    if not len(rows):
        return runs_frame([])
    with paused_gc():
        data: dict[str, Any] = {}
        text = columns.text
        for name in _INFO_COLUMNS:
            if name in ("start_time", "end_time"):
                values = columns.ints[name][rows]
                if (values == MISSING).any():
                    data[name] = pd.to_datetime(
                        [None if v == MISSING else int(v) for v in values.tolist()], unit="ms", utc=True
                    )
                else:
                    data[name] = _times(values.tolist(), np, pd)
            else:
                data[name] = _strings(text[name], rows, pd)
        for group in ("metrics", "params", "tags"):
            fields = columns.fields[group]
            for key in sorted(fields):
                column = fields[key]
                if group == "metrics":
                    if column.present[rows].any():
                        data[f"metrics.{key}"] = column.values[rows]
                else:
                    if (column.codes[rows] >= 0).any():
                        data[f"{group}.{key}"] = _strings(column, rows, pd)
        return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def _strings(column: Strings, rows: Any, pd: Any) -> Any:
    """A text column's values at ``rows`` (missing where a run lacks it), typed as pandas types text."""
    codes = column.codes[rows]
    dtype = _text_dtype(pd)
    if dtype is None:
        return column.objects()[codes]
    if getattr(dtype, "storage", None) == "pyarrow":  # pick from the distinct values without a Python object per cell
        import pyarrow as pa
        import pyarrow.compute as pc

        return pd.array(pc.take(column.arrow(pa), pa.array(codes, mask=codes < 0)), dtype=dtype)
    return pd.array(column.objects()[codes], dtype=dtype)


_TEXT_DTYPE: list[Any] = []


def _text_dtype(pd: Any) -> Any:
    if not _TEXT_DTYPE:
        dtype = pd.Series(["a", None]).dtype
        _TEXT_DTYPE.append(None if dtype == "object" else dtype)
    return _TEXT_DTYPE[0]
