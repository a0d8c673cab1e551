"""Model signatures in MLflow's JSON form: :class:`ColSpec`, :class:`TensorSpec`, :class:`Schema`, :class:`ModelSignature`.

A signature says what a model takes and returns. Column schemas (from DataFrames) are lists of
``{"type": "double", "name": "x", "required": true}``; tensor schemas (from arrays) are
``{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}`` — the strings MLflow writes in the
``signature`` section of an ``MLmodel`` file, so either tool reads the other's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nbtrack.errors import InvalidParameter

# numpy dtype kind/size → MLflow's column type names.
_NUMPY_TO_TYPE = {
    "float64": "double",
    "float32": "float",
    "float16": "float",
    "int64": "long",
    "int32": "integer",
    "int16": "integer",
    "int8": "integer",
    "uint8": "integer",
    "uint16": "integer",
    "uint32": "long",
    "bool": "boolean",
    "object": "string",
    "str": "string",
    "string": "string",
    "bytes": "binary",
}
TYPE_TO_NUMPY = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}


def _type_of_dtype(dtype: Any) -> str:
    name = str(dtype)
    if name.startswith("datetime64"):
        return "datetime"
    if name in ("category", "string[python]", "string[pyarrow]", "str"):
        return "string"
    return _NUMPY_TO_TYPE.get(name, "string")


@dataclass(frozen=True)
class ColSpec:
    """One named (or unnamed) column of a column-based schema."""

    type: str
    name: str | None = None
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form."""
        out: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out

    def __repr__(self) -> str:
        label = f"{self.name!r}: " if self.name is not None else ""
        return f"{label}{self.type}{' (required)' if self.required else ' (optional)'}"


@dataclass(frozen=True)
class TensorSpec:
    """A tensor input or output: a numpy dtype and a shape (``-1`` for any size)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form."""
        out: dict[str, Any] = {"type": "tensor", "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)}}
        if self.name is not None:
            out["name"] = self.name
        return out

    @property
    def type(self) -> str:
        """The numpy dtype name (MLflow's ``TensorSpec.type`` is the dtype)."""
        return self.dtype

    def __repr__(self) -> str:
        return f"Tensor({self.dtype!r}, {tuple(self.shape)!r})"


@dataclass(frozen=True)
class Schema:
    """A list of :class:`ColSpec` or of :class:`TensorSpec` (not both)."""

    inputs: list[ColSpec | TensorSpec] = field(default_factory=list)

    def is_tensor_spec(self) -> bool:
        """Whether this schema holds tensors."""
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    def input_names(self) -> list[str | None]:
        """The names of the schema's entries."""
        return [s.name for s in self.inputs]

    def required_input_names(self) -> list[str]:
        """The named columns that must be present."""
        return [s.name for s in self.inputs if isinstance(s, ColSpec) and s.required and s.name is not None]

    def has_input_names(self) -> bool:
        """Whether every entry is named."""
        return bool(self.inputs) and all(s.name is not None for s in self.inputs)

    def to_dict(self) -> list[dict[str, Any]]:
        """MLflow's JSON form (a list)."""
        return [s.to_dict() for s in self.inputs]

    def to_json(self) -> str:
        """The JSON string MLflow stores in ``MLmodel``."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """Parse MLflow's JSON form."""
        entries = json.loads(text)
        specs: list[ColSpec | TensorSpec] = []
        for entry in entries:
            if entry.get("type") == "tensor":
                spec = entry.get("tensor-spec", {})
                specs.append(TensorSpec(str(spec.get("dtype")), tuple(spec.get("shape", ())), entry.get("name")))
            else:
                specs.append(ColSpec(str(entry.get("type")), entry.get("name"), bool(entry.get("required", True))))
        return cls(specs)

    def __repr__(self) -> str:
        return "[" + ", ".join(repr(s) for s in self.inputs) + "]"


@dataclass(frozen=True)
class ModelSignature:
    """What a model takes (``inputs``), returns (``outputs``) and its inference ``params``."""

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """MLflow's form: JSON strings under ``inputs`` / ``outputs`` / ``params``."""
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": json.dumps(self.params) if self.params is not None else None,
        }

    @classmethod
    def from_dict(cls, signature_dict: dict[str, Any]) -> ModelSignature:
        """Read :meth:`to_dict`'s form (as found in an ``MLmodel`` file)."""
        inputs = signature_dict.get("inputs")
        outputs = signature_dict.get("outputs")
        params = signature_dict.get("params")
        return cls(
            Schema.from_json(inputs) if inputs else None,
            Schema.from_json(outputs) if outputs else None,
            json.loads(params) if isinstance(params, str) else params,
        )

    def __repr__(self) -> str:
        return f"inputs: \n  {self.inputs!r}\noutputs: \n  {self.outputs!r}\nparams: \n  {self.params!r}\n"


def _infer_schema(data: Any) -> Schema | None:
    if data is None:
        return None
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return Schema([ColSpec(_type_of_dtype(t), str(c)) for c, t in data.dtypes.items()])
    if isinstance(data, pd.Series):
        return Schema([ColSpec(_type_of_dtype(data.dtype), None if data.name is None else str(data.name))])
    if isinstance(data, dict):
        specs: list[ColSpec | TensorSpec] = []
        for key, value in data.items():
            arr = np.asarray(value)
            specs.append(ColSpec(_type_of_dtype(arr.dtype if arr.dtype.kind != "U" else "str"), str(key)))
        return Schema(specs)
    if isinstance(data, str):
        return Schema([ColSpec("string")])
    if hasattr(data, "tocsr"):  # scipy sparse
        return Schema([TensorSpec(str(data.dtype), (-1, *data.shape[1:]))])
    arr = np.asarray(data)
    if arr.dtype.kind in "UO" and arr.ndim == 1:
        return Schema([ColSpec("string")])
    if arr.ndim == 0:
        return Schema([ColSpec(_type_of_dtype(arr.dtype))])
    return Schema([TensorSpec(str(arr.dtype), (-1, *arr.shape[1:]))])


def _param_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "string"


def infer_signature(model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None) -> Any:
    """Infer a model's signature from example input, output and params (MLflow's ``infer_signature``).

    Parameters
    ----------
    model_input : DataFrame, Series, ndarray, dict or list, optional
        Example input: DataFrames give named columns, arrays give a tensor spec.
    model_output : optional
        Example output, e.g. ``model.predict(X)``.
    params : dict, optional
        Inference parameters with their default values.

    Returns
    -------
    ModelSignature
    """
    if params is not None and not isinstance(params, dict):
        raise InvalidParameter(f"params must be a dict of default values, got {type(params).__name__}.")
    param_specs = (
        [{"name": str(k), "type": _param_type(val), "default": val, "shape": None} for k, val in params.items()]
        if params
        else None
    )
    return ModelSignature(_infer_schema(model_input), _infer_schema(model_output), param_specs)


def signature_from_description(description: dict[str, Any] | None) -> ModelSignature | None:
    """The input signature of the training data's description (columns, dtypes, shape) recorded by autolog."""
    if not description or "dtypes" not in description:
        return None
    columns = description.get("columns") or []
    dtypes = description.get("dtypes") or []
    if columns and len(columns) == len(dtypes):
        return ModelSignature(
            Schema([ColSpec(_type_of_dtype(t), str(c)) for c, t in zip(columns, dtypes, strict=True)])
        )
    if len(dtypes) == 1 and dtypes[0] in _NUMPY_TO_TYPE:
        shape = tuple(int(s) for s in description.get("shape") or (-1,))
        return ModelSignature(Schema([TensorSpec(dtypes[0], (-1, *shape[1:]))]))
    return None
