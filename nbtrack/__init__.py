"""nbtrack: machine-learning experiment tracking that lives inside the Jupyter notebook.

Runs, metrics, models and a model registry in a local store beside the notebook,
with MLflow's API names, so ``import nbtrack as mlflow`` runs MLflow snippets::

    import nbtrack
    nbtrack.set_experiment("churn")
    with nbtrack.start_run(run_name="baseline"):
        nbtrack.log_params({"C": 1.0})
        nbtrack.log_metric("accuracy", 0.91)
    nbtrack.search_runs()          # a pandas DataFrame

In a notebook, ``%load_ext nbtrack`` then ``%%track`` on a training cell records
the cell as a run; ``nbtrack.sklearn.autolog()`` captures scikit-learn fits.

Where to look
-------------
Tracking (this module)
    ``set_experiment``, ``start_run``, ``log_param(s)``, ``log_metric(s)`` (``run_id=`` logs into another run),
    ``set_tag(s)``, ``set_experiment_tag(s)``, ``log_artifact(s)``, ``log_text``, ``log_dict``, ``log_figure``,
    ``log_image``, ``log_table`` / ``load_table``, ``log_input``, ``search_runs``, ``get_run``, ``get_parent_run``.
MLflow's other modules, same names
    ``nbtrack.models`` (``infer_signature``, ``ModelSignature``, ``ModelInfo``), ``nbtrack.pyfunc``
    (``load_model(uri).predict(df)``, signature enforced), ``nbtrack.artifacts`` (``download_artifacts``,
    ``load_text`` / ``load_dict`` / ``load_image``), ``nbtrack.data`` (``from_pandas``, ``from_numpy``),
    ``nbtrack.exceptions.MlflowException``, ``nbtrack.entities``.
``nbtrack.sklearn``
    ``autolog()``, ``log_model``, ``save_model``, ``load_model("models:/Churn/Production")``.
Registry
    ``nbtrack.register_model(model_uri, name)`` and ``nbtrack.tracking.MlflowClient()``:
    ``transition_model_version_stage``, ``set_registered_model_alias``, ``get_latest_versions``,
    ``search_model_versions``, ``get_model_version_events`` (the audit trail).
Widgets
    ``nbtrack.show()``: runs table, charts and registry panel under the cell.
Magics
    ``%%track [RUN_NAME] [-e EXPERIMENT] [-t KEY=VALUE] [--no-autolog] [--nested] [--quiet]``;
    ``%nbtrack runs|show|experiment|store``.
Code lineage
    ``nbtrack.reproduce(run_id)`` re-runs a run's minimal code slice in a fresh kernel and compares;
    ``nbtrack.slice_notebook(run_id)`` writes the slice as a notebook; stale runs carry ``tags.nbtrack.stale``.
Store
    ``./.nbtrack/`` by default; ``NBTRACK_STORE``, ``MLFLOW_TRACKING_URI`` or ``set_tracking_uri(path)`` point
    elsewhere, ``set_tracking_uri("http://host:5000")`` at an MLflow tracking server (``pip install
    "nbtrack[server]"``). ``nbtrack.flush()`` sends buffered points to a server now; ``nbtrack.sync(src, dst)``
    (``nbtrack sync SRC DST``) copies runs and models between any two stores, MLflow's ``mlruns/`` and
    ``sqlite:///`` included; ``nbtrack.doctor()`` (``nbtrack doctor [--repair]``) checks and repairs a store.
How the package is built
    ``docs/ARCHITECTURE.md``: the layers (``entities`` < ``query`` < ``store`` < ``tracking`` < ``autolog`` <
    ``sklearn`` < ``widgets``/``server`` < ``magics``), the store and registry contracts
    (``nbtrack.store.base``), the fluent state (``nbtrack.tracking.state``), the tag keys (``entities.Tags``).
"""

from __future__ import annotations

from typing import Any

from nbtrack import entities, errors, tracking
from nbtrack.entities import (
    Experiment,
    Metric,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from nbtrack.errors import AlreadyExists, InvalidParameter, MlflowException, NbtrackError, NotFound
from nbtrack.tracking.client import MlflowClient, TrackingClient
from nbtrack.tracking.fluent import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_experiment,
    delete_run,
    delete_tag,
    end_run,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_metric_history,
    get_parent_run,
    get_run,
    get_tracking_uri,
    last_active_run,
    load_table,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_inputs,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    restore_experiment,
    restore_run,
    search_experiments,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from nbtrack.version import __version__ as __version__

_LAZY_SUBMODULES = (
    "sklearn",
    "widgets",
    "magics",
    "server",
    "store",
    "registry",
    "autolog",
    "pyfunc",
    "models",
    "artifacts",
    "data",
    "exceptions",
    "lineage",
)


_LAZY_FUNCTIONS = {
    "autolog": "nbtrack.sklearn",
    "show": "nbtrack.widgets",
    "register_model": "nbtrack.registry",
    "search_registered_models": "nbtrack.registry",
    "search_model_versions": "nbtrack.registry",
    "flush": "nbtrack.store",
    "sync": "nbtrack.sync",
    "reproduce": "nbtrack.lineage.reproduce",
    "slice_notebook": "nbtrack.lineage.notebook",
    "doctor": "nbtrack.store.doctor",
}


def __getattr__(name: str) -> Any:
    # Heavy parts (scikit-learn, ipywidgets, plotly) load on first use only.
    import importlib

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"nbtrack.{name}")
    if name in _LAZY_FUNCTIONS:
        return getattr(importlib.import_module(_LAZY_FUNCTIONS[name]), name)
    raise AttributeError(f"module 'nbtrack' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%%track`` and ``%nbtrack`` magics (``%load_ext nbtrack``)."""
    from nbtrack.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Undo :func:`load_ipython_extension` (``%unload_ext nbtrack``)."""
    from nbtrack.magics import unload_ipython_extension as unload

    unload(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "nbtrack"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbtrack"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from nbtrack.server import load_jupyter_server_extension

    load_jupyter_server_extension(server_app)


__all__ = [
    "ActiveRun",
    "AlreadyExists",
    "Experiment",
    "InvalidParameter",
    "Metric",
    "MlflowClient",
    "MlflowException",
    "NbtrackError",
    "NotFound",
    "Param",
    "Run",
    "RunStatus",
    "RunTag",
    "TrackingClient",
    "ViewType",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "entities",
    "errors",
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
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    "tracking",
]
