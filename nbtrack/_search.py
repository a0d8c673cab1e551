"""Filter and order-by language of ``search_runs`` (placeholder: no filter yet)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nbtrack.errors import InvalidParameter


def compile_run_filter(filter_string: str | None) -> Callable[[dict[str, Any]], bool] | None:
    """Compile a filter string into a predicate over run documents; ``None`` matches all."""
    if not filter_string or not filter_string.strip():
        return None
    raise InvalidParameter("Filters are not supported yet.")


def sort_runs(docs: list[dict[str, Any]], order_by: Sequence[str] | None) -> list[dict[str, Any]]:
    """Sort run documents (default: newest first)."""
    return sorted(docs, key=lambda d: (-d["start_time"], d["run_id"]))


def compile_experiment_filter(filter_string: str | None) -> Callable[[dict[str, Any]], bool] | None:
    """Compile an experiment filter (``name``, ``tags.*``) into a predicate over ``Experiment.to_dict()``."""
    if not filter_string or not filter_string.strip():
        return None
    raise InvalidParameter("Experiment filters are not supported yet.")


def sort_experiments(experiments: list[Any], order_by: Sequence[str]) -> list[Any]:
    """Sort experiments by ``name``, ``experiment_id``, ``creation_time`` or ``last_update_time``."""
    return experiments
