"""MLflow's ``mlflow.data``: describe a dataset so a run records which data it used (``nbtrack.log_input``).

::

    dataset = nbtrack.data.from_pandas(df, source="data/train.csv", targets="label", name="train")
    with nbtrack.start_run():
        nbtrack.log_input(dataset, context="training")

Only a fingerprint is stored (name, digest, source, schema, profile), never the values.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from nbtrack.entities import Dataset as DatasetEntity
from nbtrack.errors import InvalidParameter
from nbtrack.models.signature import infer_signature

__all__ = ["Dataset", "NumpyDataset", "PandasDataset", "from_numpy", "from_pandas"]

_DIGEST_ROWS = 10000  # as MLflow, the digest reads at most this many rows (plus the row count)


def _source(source: Any) -> tuple[str, str]:
    """``(source_type, source JSON)`` of a source given as a path or URL (or an object with ``to_json``)."""
    if source is None:
        return "code", json.dumps({"tags": {}})
    to_json = getattr(source, "to_json", None)
    if callable(to_json):
        return str(getattr(source, "_get_source_type", lambda: "code")()), str(to_json())
    text = str(source)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    kind = {"http": "http", "https": "http", "s3": "s3", "gs": "gcs", "file": "local", "": "local"}.get(scheme, scheme)
    return kind, json.dumps({"uri": text})


class Dataset:
    """A dataset's fingerprint, as MLflow's ``mlflow.data.Dataset``: ``name``, ``digest``, ``source``, schema, profile."""

    def __init__(self, name: str | None, digest: str, source: Any) -> None:
        self._digest = digest
        self._name = name or "dataset"
        self._source_type, self._source_json = _source(source)
        self._raw_source = source

    @property
    def name(self) -> str:
        """The dataset's name (``"dataset"`` unless given)."""
        return self._name

    @property
    def digest(self) -> str:
        """A short content hash: equal data give equal digests."""
        return self._digest

    @property
    def source(self) -> Any:
        """Where the data came from, as given."""
        return self._raw_source

    @property
    def schema(self) -> Any:
        """The data's schema."""
        return None

    @property
    def profile(self) -> dict[str, Any] | None:
        """Sizes of the data."""
        return None

    def _schema_json(self) -> str:
        return ""

    def to_dict(self) -> dict[str, str]:
        """The JSON-ready fields MLflow records (``name, digest, source, source_type, schema, profile``)."""
        return {
            "name": self.name,
            "digest": self.digest,
            "source": self._source_json,
            "source_type": self._source_type,
            "schema": self._schema_json(),
            "profile": json.dumps(self.profile) if self.profile is not None else "",
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON."""
        return json.dumps(self.to_dict())

    def _to_mlflow_entity(self) -> DatasetEntity:
        d = self.to_dict()
        return DatasetEntity(d["name"], d["digest"], d["source_type"], d["source"], d["schema"], d["profile"])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} digest={self.digest!r}>"


class PandasDataset(Dataset):
    """A pandas DataFrame's fingerprint (:func:`from_pandas`)."""

    def __init__(
        self, df: Any, source: Any, targets: str | None, name: str | None, digest: str | None, predictions: str | None
    ) -> None:
        import pandas as pd

        for column, what in ((targets, "targets"), (predictions, "predictions")):
            if column is not None and column not in df.columns:
                raise InvalidParameter(
                    f"The specified pandas DataFrame does not contain the specified {what} column {column!r}."
                )
        if digest is None:
            h = hashlib.sha256()
            h.update(pd.util.hash_pandas_object(df.head(_DIGEST_ROWS), index=False).to_numpy().tobytes())
            h.update(f"|{len(df)}|{list(map(str, df.columns))}".encode())
            digest = h.hexdigest()[:8]
        super().__init__(name, digest, source)
        self._df = df
        self._targets = targets
        self._predictions = predictions

    @property
    def df(self) -> Any:
        """The DataFrame."""
        return self._df

    @property
    def targets(self) -> str | None:
        """The target column's name."""
        return self._targets

    @property
    def predictions(self) -> str | None:
        """The predictions column's name."""
        return self._predictions

    @property
    def features(self) -> Any:
        """The DataFrame without the target and prediction columns."""
        drop = [c for c in (self._targets, self._predictions) if c is not None]
        return self._df.drop(columns=drop) if drop else self._df

    @property
    def schema(self) -> Any:
        """The columns' :class:`~nbtrack.models.Schema`."""
        return infer_signature(self._df).inputs

    @property
    def profile(self) -> dict[str, Any]:
        """``num_rows`` and ``num_elements``."""
        return {"num_rows": len(self._df), "num_elements": int(self._df.size)}

    def _schema_json(self) -> str:
        return json.dumps({"mlflow_colspec": self.schema.to_dict()})


class NumpyDataset(Dataset):
    """A numpy array's fingerprint (:func:`from_numpy`)."""

    def __init__(self, features: Any, source: Any, targets: Any, name: str | None, digest: str | None) -> None:
        import numpy as np

        feats = np.asarray(features)
        tgts = None if targets is None else np.asarray(targets)
        if digest is None:
            h = hashlib.sha256()
            for arr in (feats, tgts):
                if arr is not None:
                    h.update(f"{arr.shape}|{arr.dtype}|".encode())
                    h.update(np.ascontiguousarray(arr[:_DIGEST_ROWS]).tobytes())
            digest = h.hexdigest()[:8]
        super().__init__(name, digest, source)
        self._features = feats
        self._targets = tgts

    @property
    def features(self) -> Any:
        """The features array."""
        return self._features

    @property
    def targets(self) -> Any:
        """The targets array, if given."""
        return self._targets

    @property
    def schema(self) -> Any:
        """The features' (and targets') tensor schemas."""
        return infer_signature(self._features, self._targets)

    @property
    def profile(self) -> dict[str, Any]:
        """Shapes, sizes and byte counts."""
        out: dict[str, Any] = {
            "features_shape": list(self._features.shape),
            "features_size": int(self._features.size),
            "features_nbytes": int(self._features.nbytes),
        }
        if self._targets is not None:
            out.update(
                targets_shape=list(self._targets.shape),
                targets_size=int(self._targets.size),
                targets_nbytes=int(self._targets.nbytes),
            )
        return out

    def _schema_json(self) -> str:
        sig = self.schema
        return json.dumps(
            {
                "mlflow_tensorspec": {
                    "features": sig.inputs.to_json() if sig.inputs is not None else None,
                    "targets": sig.outputs.to_json() if sig.outputs is not None else None,
                }
            }
        )


def from_pandas(
    df: Any,
    source: Any = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
    predictions: str | None = None,
) -> PandasDataset:
    """Describe a DataFrame as a dataset (MLflow's ``mlflow.data.from_pandas``).

    Parameters
    ----------
    df : pandas.DataFrame
        The data.
    source : str, optional
        Where it came from (a path or URL).
    targets, predictions : str, optional
        Column names of the targets and predictions.
    name : str, optional
        ``"dataset"`` by default.
    digest : str, optional
        Computed from the content by default.

    Returns
    -------
    PandasDataset

    Raises
    ------
    InvalidParameter
        ``df`` is not a DataFrame, or a named column is missing.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidParameter(f"from_pandas takes a pandas DataFrame, got {type(df).__name__}.")
    return PandasDataset(df, source, targets, name, digest, predictions)


def from_numpy(
    features: Any, source: Any = None, targets: Any = None, name: str | None = None, digest: str | None = None
) -> NumpyDataset:
    """Describe numpy arrays as a dataset (MLflow's ``mlflow.data.from_numpy``).

    Parameters
    ----------
    features : numpy.ndarray
        The features.
    source : str, optional
        Where they came from.
    targets : numpy.ndarray, optional
        The targets.
    name : str, optional
        ``"dataset"`` by default.
    digest : str, optional
        Computed from the content by default.

    Returns
    -------
    NumpyDataset
    """
    return NumpyDataset(features, source, targets, name, digest)
