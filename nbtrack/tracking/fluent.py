"""The fluent API (MLflow's ``mlflow.*`` functions), gathered from its parts.

* :mod:`nbtrack.tracking._fluent_runs`: tracking URI, experiments made active, ``start_run``/``end_run``,
  ``log_metric(s)``.
* :mod:`nbtrack.tracking._fluent_data`: params, tags, inputs, run look-ups.
* :mod:`nbtrack.tracking._fluent_io`: experiments, artifacts, ``search_runs``.
* :mod:`nbtrack.tracking._fluent_media`: ``log_image``, ``log_table``, ``load_table``.

The state they share (the calling thread's run stack, the active experiment, the client) is in
:mod:`nbtrack.tracking.state`.
"""

from __future__ import annotations

from nbtrack.tracking._fluent_data import (
    delete_run,
    delete_tag,
    get_metric_history,
    get_parent_run,
    get_run,
    log_input,
    log_inputs,
    log_param,
    log_params,
    restore_run,
    set_experiment_tag,
    set_experiment_tags,
    set_tag,
    set_tags,
)
from nbtrack.tracking._fluent_io import (
    create_experiment,
    delete_experiment,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_text,
    restore_experiment,
    search_experiments,
    search_runs,
)
from nbtrack.tracking._fluent_media import load_table, log_image, log_table
from nbtrack.tracking._fluent_runs import (
    ActiveRun,
    active_experiment_id,
    active_run,
    end_run,
    get_tracking_uri,
    last_active_run,
    log_metric,
    log_metrics,
    reset,
    run_id_for_logging,
    set_experiment,
    set_tracking_uri,
    start_run,
)

__all__ = [
    "ActiveRun",
    "active_experiment_id",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_metric_history",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "reset",
    "restore_experiment",
    "restore_run",
    "run_id_for_logging",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
