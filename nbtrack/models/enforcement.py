"""Check and convert a model's input against its signature before ``predict``, with MLflow's rules and messages.

Column schemas: every required column must be present (extra columns are dropped, columns are put in the
schema's order); integers widen to floats, and a conversion that could lose information (a float column into a
``long`` one) is refused. Tensor schemas: the shape must match except where the schema says ``-1``, and the dtype
must convert safely.
"""

from __future__ import annotations

from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.models.signature import TYPE_TO_NUMPY, ColSpec, Schema, TensorSpec


def _failed(data: Any, schema: Schema, error: str) -> InvalidParameter:
    return InvalidParameter(f"Failed to enforce schema of data '{data}' with schema '{schema!r}'. Error: {error}")


def _convert_column(values: Any, spec: ColSpec) -> Any:
    import numpy as np

    target = TYPE_TO_NUMPY.get(spec.type)
    if target is None or target == "object":
        return values
    if target.startswith("datetime"):
        import pandas as pd

        return pd.to_datetime(values)
    if values.dtype == np.dtype(target):
        return values
    kind = values.dtype.kind
    if kind == "O" or not np.can_cast(values.dtype, np.dtype(target), casting="safe"):
        # MLflow also lets ints go to float32/float64 and float32 widen; anything lossy is refused.
        widening_int = kind in "iub" and np.dtype(target).kind == "f"
        if not widening_int:
            raise TypeError(
                f"Incompatible input types for column {spec.name}. Can not safely convert {values.dtype} to {target}."
            )
    return values.astype(target)


def _enforce_columns(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    specs = [s for s in schema.inputs if isinstance(s, ColSpec)]
    if not schema.has_input_names():
        if isinstance(data, pd.DataFrame):
            return data
        return pd.DataFrame(np.asarray(data))
    names = [str(s.name) for s in specs]
    if isinstance(data, dict):
        data = pd.DataFrame(data)
    elif isinstance(data, pd.Series):
        data = data.to_frame().T if data.name is None else data.to_frame()
    elif not isinstance(data, pd.DataFrame):
        arr = np.asarray(data)
        if arr.ndim == 1:
            arr = arr.reshape(1, -1) if len(names) > 1 else arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[1] != len(names):
            raise _failed(data, schema, f"Expected {len(names)} columns, got an array of shape {arr.shape}.")
        data = pd.DataFrame(arr, columns=names)
    given = [str(c) for c in data.columns]
    missing = [n for n in schema.required_input_names() if n not in given]
    if missing:
        extra = [c for c in given if c not in names]
        note = f" Note that there were extra inputs: {extra}." if extra else ""
        raise _failed(data, schema, f"Model is missing inputs {missing}.{note}")
    out = pd.DataFrame(index=data.index)
    for spec in specs:
        name = str(spec.name)
        if name not in given:
            continue
        try:
            out[name] = _convert_column(data[data.columns[given.index(name)]], spec)
        except (TypeError, ValueError) as exc:
            raise _failed(data, schema, str(exc)) from None
    return out


def _enforce_tensor(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    spec = schema.inputs[0]
    assert isinstance(spec, TensorSpec)
    arr = data.to_numpy() if isinstance(data, (pd.DataFrame, pd.Series)) else np.asarray(data)
    expected = tuple(spec.shape)
    if len(expected) != arr.ndim or any(e not in (-1, a) for e, a in zip(expected, arr.shape, strict=True)):
        raise _failed(data, schema, f"Shape of input {arr.shape} does not match expected shape {expected}.")
    target = np.dtype(spec.dtype)
    if arr.dtype != target:
        if not np.can_cast(arr.dtype, target, casting="safe"):
            raise _failed(data, schema, f"dtype of input {arr.dtype} does not match expected dtype {target}")
        arr = arr.astype(target)
    return arr


def enforce_schema(data: Any, schema: Schema | None) -> Any:
    """Return ``data`` checked and converted for a model whose input schema is ``schema``.

    Parameters
    ----------
    data : DataFrame, ndarray, dict, Series or list
        The input given to ``predict``.
    schema : Schema or None
        The model's input schema; ``None`` returns ``data`` unchanged.

    Returns
    -------
    DataFrame or ndarray

    Raises
    ------
    InvalidParameter
        A required column is missing, a column cannot be converted safely, or a tensor's shape or dtype does
        not match; the message reads as MLflow's ("Failed to enforce schema of data ...").
    """
    if schema is None or not schema.inputs:
        return data
    if schema.is_tensor_spec():
        return _enforce_tensor(data, schema)
    return _enforce_columns(data, schema)
