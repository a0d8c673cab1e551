"""The filter language of ``search_runs`` and the registry searches: MLflow's grammar plus ``OR`` and parentheses.

:mod:`nbtrack.query.parser` reads a filter into a predicate over plain documents (and ``order_by`` clauses into
sort keys); :mod:`nbtrack.query.search` defines what each entity's fields are (runs, experiments, registered models,
model versions) and sorts results. Nothing here touches a store: any backend can evaluate a filter with it.
"""

from __future__ import annotations

from nbtrack.query.search import (
    compile_experiment_filter,
    compile_model_version_filter,
    compile_registered_model_filter,
    compile_run_filter,
    sort_experiments,
    sort_model_versions,
    sort_registered_models,
    sort_runs,
)

__all__ = [
    "compile_experiment_filter",
    "compile_model_version_filter",
    "compile_registered_model_filter",
    "compile_run_filter",
    "sort_experiments",
    "sort_model_versions",
    "sort_registered_models",
    "sort_runs",
]
