"""What the charts need without plotly or numpy: metric keys, varying params, the saved bars.

The dashboard's saved form uses these, so displaying ``nbtrack.show()`` imports neither.
"""

from __future__ import annotations

from collections.abc import Sequence

from nbtrack.widgets._columns import default_params
from nbtrack.widgets._common import bars_html, lower_is_better
from nbtrack.widgets._source import RunRow, RunSource


def _metric_keys(rows: Sequence[RunRow]) -> list[str]:
    """The metrics of ``rows``, those most runs have first (then by name).

    Autolog names some metrics after the estimator (``GridSearchCV_score_Xte``), so each model's
    own keys would come first alphabetically and hide the metric that every run shares.
    """
    count: dict[str, int] = {}
    for r in rows:
        for key in r.metrics:
            count[key] = count.get(key, 0) + 1
    return sorted(count, key=lambda k: (-count[k], k))


def varying_params(rows: Sequence[RunRow]) -> list[str]:
    """Params whose values differ among ``rows`` (plain ones first), Pipeline reprs left out."""
    values: dict[str, set[str]] = {}
    count: dict[str, int] = {}
    for row in rows:
        for key, value in row.params.items():
            values.setdefault(key, set()).add(value)
            count[key] = count.get(key, 0) + 1
    shown, _ = default_params(values, count, len(rows), limit=10_000)
    return shown


def final_values_html(rows: Sequence[RunRow], metric: str | None, source: RunSource) -> str:
    """One metric's final value per run as HTML bars coloured like the runs (the saved form of the charts)."""
    metric = metric or next(iter(_metric_keys(rows)), None)
    if metric is None:
        return ""
    items = [(r.name, r.metrics[metric], source.colors(r.run_id)) for r in rows if metric in r.metrics]
    return bars_html(f"{metric} per run", items, lower_is_better(metric))
