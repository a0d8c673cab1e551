"""Fingerprints of training and evaluation data: a content digest, shape, dtypes, column names.

The digest hashes the raw bytes of the values together with shape, dtype and
column names, so it is the same in every process and on every run for the same
data, and it costs well under a millisecond per megabyte.
"""

from __future__ import annotations

import hashlib
import json
import sys
from types import FrameType
from typing import Any

from nbtrack.entities import Dataset, DatasetInput, InputTag, Tags

_SKIP_MODULES = ("nbtrack", "sklearn", "joblib", "functools", "contextlib", "threadpoolctl")


def _update_array(h: Any, arr: Any) -> None:
    import numpy as np

    a = np.asarray(arr)
    h.update(f"{a.shape}|{a.dtype.str}|".encode())
    if a.dtype.hasobject:
        import pandas as pd

        frame = pd.DataFrame(a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1))
        h.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
        return
    a = np.ascontiguousarray(a)
    h.update(memoryview(a).cast("B"))  # type: ignore[arg-type]


def _update(h: Any, data: Any) -> None:
    """Feed one data object (ndarray, DataFrame, Series, sparse matrix, list) into hash ``h``."""
    if data is None:
        h.update(b"none|")
        return
    mod = type(data).__module__
    if mod.startswith("pandas"):
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            h.update(json.dumps([str(c) for c in data.columns]).encode())
            h.update(json.dumps([str(t) for t in data.dtypes]).encode())
            dtypes = set(data.dtypes)
            if len(dtypes) == 1 and all(getattr(t, "kind", "O") in "biufcmM" for t in dtypes):
                _update_array(h, data.to_numpy())
            else:
                h.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
            return
        if isinstance(data, pd.Series):
            h.update(f"series|{data.name}|{data.dtype}|".encode())
            if getattr(data.dtype, "kind", "O") in "biufcmM":
                _update_array(h, data.to_numpy())
            else:
                h.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
            return
    if mod.startswith("scipy.sparse"):
        csr = data.tocsr()
        h.update(f"sparse|{csr.shape}|".encode())
        for part in (csr.data, csr.indices, csr.indptr):
            _update_array(h, part)
        return
    _update_array(h, data)


def digest(X: Any, y: Any = None) -> str:
    """Return a stable content digest (16 hex characters) of ``X`` and ``y``."""
    h = hashlib.sha256()
    _update(h, X)
    h.update(b"||")
    _update(h, y)
    return h.hexdigest()[:16]


def describe(X: Any) -> dict[str, Any]:
    """Shape, column names and dtypes of ``X`` (the input signature of a model)."""
    shape = list(getattr(X, "shape", ()) or ())
    if not shape and hasattr(X, "__len__"):
        shape = [len(X)]
    columns = getattr(X, "columns", None)
    if columns is not None:
        names = [str(c) for c in columns]
        dtypes = [str(t) for t in X.dtypes]
    else:
        names = []
        dtype = getattr(X, "dtype", None)
        dtypes = [str(dtype)] if dtype is not None else [type(X).__name__]
    return {"shape": [int(s) for s in shape], "columns": names, "dtypes": dtypes}


def caller_variable(obj: Any, frame: FrameType | None = None) -> str | None:
    """The name under which the first user frame up the stack holds ``obj`` (``X_train``), if any."""
    if obj is None:
        return None
    f: FrameType | None = frame if frame is not None else sys._getframe(1)
    while f is not None and str(f.f_globals.get("__name__", "")).split(".")[0] in _SKIP_MODULES:
        f = f.f_back
    if f is None:
        return None
    for scope in (f.f_locals, f.f_globals) if f.f_locals is not f.f_globals else (f.f_locals,):
        for name, value in scope.items():
            if value is obj and not name.startswith("_"):
                return name
    return None


def dataset_input(X: Any, y: Any, context: str, name: str | None = None) -> DatasetInput:
    """Build the :class:`DatasetInput` recorded on a run for ``(X, y)``."""
    info = describe(X)
    y_info = describe(y) if y is not None else None
    schema = {"columns": info["columns"], "dtypes": info["dtypes"]}
    if y_info is not None:
        schema["target"] = {"name": str(getattr(y, "name", "") or ""), "dtypes": y_info["dtypes"]}
    profile = {"num_rows": info["shape"][0] if info["shape"] else None, "shape": info["shape"]}
    if y_info is not None:
        profile["target_shape"] = y_info["shape"]
    dataset = Dataset(
        name=name or "dataset",
        digest=digest(X, y),
        source_type="code",
        source="",
        schema=json.dumps(schema),
        profile=json.dumps(profile),
    )
    return DatasetInput(dataset=dataset, tags=(InputTag(Tags.DATASET_CONTEXT, context),))
