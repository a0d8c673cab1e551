"""Run documents → the pandas DataFrame MLflow's ``search_runs`` returns."""

from __future__ import annotations

from typing import Any

from nbtrack.store._docs import metric_float

_INFO_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def runs_frame(docs: list[dict[str, Any]]) -> Any:
    """Build the DataFrame column by column (much faster than row records at 10k runs)."""
    import numpy as np
    import pandas as pd

    n = len(docs)
    columns: dict[str, Any] = {name: [d.get(name) for d in docs] for name in _INFO_COLUMNS}
    extra: dict[str, list[Any]] = {}
    for prefix, field, convert in (
        ("metrics.", "metrics", metric_float),
        ("params.", "params", None),
        ("tags.", "tags", None),
    ):
        keys: dict[str, None] = {}
        for d in docs:
            keys.update(dict.fromkeys(d.get(field) or ()))
        for key in sorted(keys):
            fill = np.nan if convert else None
            values = [fill] * n
            for i, d in enumerate(docs):
                value = (d.get(field) or {}).get(key)
                if value is not None:
                    values[i] = convert(value) if convert else value
            extra[prefix + key] = values
    frame = pd.DataFrame({**columns, **extra}, index=range(n))
    for name in ("start_time", "end_time"):
        frame[name] = pd.to_datetime(frame[name], unit="ms", utc=True)
    for key in extra:
        if key.startswith("metrics."):
            frame[key] = frame[key].astype("float64")
    return frame
