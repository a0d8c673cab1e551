"""Experiments, artifacts and ``search_runs`` of the fluent API (re-exported by :mod:`nbtrack.tracking.fluent`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from nbtrack._validation import check_args, check_text, validate_local_path
from nbtrack.entities import Experiment, ViewType
from nbtrack.errors import InvalidParameter
from nbtrack.tracking import state
from nbtrack.tracking._fluent_runs import active_experiment_id as _experiment_id
from nbtrack.tracking._fluent_runs import run_id_for_logging as _run_id
from nbtrack.tracking.artifacts import check_artifact_file, safe_join
from nbtrack.tracking.client import TrackingClient


def _client() -> TrackingClient:
    return state.get_client()


def _target(run_id: str | None) -> str:
    """The run to write to: ``run_id`` when given (MLflow's ``run_id=``), else the active run."""
    return run_id if run_id is not None else _run_id()


def _empty_frame() -> Any:
    from nbtrack.tracking._frame import runs_frame

    return runs_frame([])


def get_experiment(experiment_id: str) -> Experiment:
    """Return an experiment by id.

    Parameters
    ----------
    experiment_id : str
        A string of digits, e.g. ``"0"`` for Default.

    Returns
    -------
    Experiment

    Raises
    ------
    NotFound
        No experiment has that id.
    """
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """Return the experiment of that name (active or deleted), or ``None``.

    Parameters
    ----------
    name : str
        Free text, e.g. ``"/Users/me/churn"``.

    Returns
    -------
    Experiment or None
    """
    return _client().get_experiment_by_name(name)


def create_experiment(name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None) -> str:
    """Create an experiment.

    Parameters
    ----------
    name : str
        Free text, unique in the store.
    artifact_location : str, optional
        Where its runs' artifacts go; the store's ``artifacts/`` folder by default.
    tags : dict, optional
        Experiment tags.

    Returns
    -------
    str
        The new experiment's id.

    Raises
    ------
    AlreadyExists
        The name is taken (by an active or a deleted experiment).
    """
    return _client().create_experiment(name, artifact_location, tags)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """List experiments, newest first (MLflow's order).

    Parameters
    ----------
    view_type : int
        ``ViewType.ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``.
    max_results : int, optional
        At most this many.
    filter_string : str, optional
        e.g. ``"name LIKE '/Users/me/%' and tags.team = 'ml'"``.
    order_by : list of str, optional
        e.g. ``["name DESC"]``.

    Returns
    -------
    list of Experiment
    """
    return _client().search_experiments(view_type, max_results, filter_string, order_by)


def delete_experiment(experiment_id: str) -> None:
    """Soft-delete an experiment (Default, id ``"0"``, cannot be deleted).

    Parameters
    ----------
    experiment_id : str
        The experiment's id.
    """
    _client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    """Restore a soft-deleted experiment.

    Parameters
    ----------
    experiment_id : str
        The experiment's id.
    """
    _client().restore_experiment(experiment_id)


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a file or folder into the active run's artifacts.

    Parameters
    ----------
    local_path : str or path-like
        The file or folder to copy.
    artifact_path : str, optional
        A folder inside the run's artifacts; must stay inside them.
    run_id : str, optional
        Log into this run instead of the active one.

    Raises
    ------
    NotFound
        ``local_path`` does not exist.
    InvalidParameter
        ``artifact_path`` is absolute or climbs out with ``..``.
    """
    local_path = validate_local_path(local_path, "local_path", kind="file")
    _client().log_artifact(_target(run_id), local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a folder's contents into the active run's artifacts.

    Parameters
    ----------
    local_dir : str or path-like
        The folder whose contents to copy.
    artifact_path : str, optional
        A folder inside the run's artifacts; must stay inside them.
    run_id : str, optional
        Log into this run instead of the active one.
    """
    local_dir = validate_local_path(local_dir, "local_dir", kind="folder")
    _client().log_artifacts(_target(run_id), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Write text to an artifact file of the active run.

    Parameters
    ----------
    text : str
        The text.
    artifact_file : str
        A relative path such as ``"notes/summary.md"``.
    run_id : str, optional
        Log into this run instead of the active one.
    """
    if not isinstance(text, str):
        raise InvalidParameter(f"log_text takes a str, got {type(text).__name__}.")
    check_text(text, "text")
    check_artifact_file(artifact_file)
    _client().log_text(_target(run_id), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Write a dict as JSON (YAML for ``.yaml``/``.yml``) to an artifact file of the active run.

    Parameters
    ----------
    dictionary : Any
        JSON-serialisable data (other values are stringified).
    artifact_file : str
        A relative path such as ``"config.json"``.
    run_id : str, optional
        Log into this run instead of the active one.
    """
    check_artifact_file(artifact_file)
    _client().log_dict(_target(run_id), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None) -> None:
    """Save a figure as an artifact of the active run.

    Parameters
    ----------
    figure : matplotlib Figure or plotly Figure
        Matplotlib figures are saved in the file's format (PNG by default);
        plotly figures as self-contained HTML.
    artifact_file : str
        A relative path such as ``"plots/roc.png"`` or ``"plots/roc.html"``.
    save_kwargs : dict, optional
        Passed to matplotlib's ``savefig`` (e.g. ``{"dpi": 200}``) or plotly's ``write_html``.

    Raises
    ------
    InvalidParameter
        Not a matplotlib or plotly figure, or a plotly figure named other than ``*.html``.
    """
    check_artifact_file(artifact_file)
    run_id = _run_id()
    if not save_kwargs:
        _client().log_figure(run_id, figure, artifact_file)
        return
    import io

    from nbtrack.tracking.artifacts import write_bytes

    buffer = io.BytesIO() if hasattr(figure, "savefig") else io.StringIO()
    if hasattr(figure, "savefig"):
        figure.savefig(buffer, format=os.path.splitext(artifact_file)[1].lstrip(".") or "png", **save_kwargs)
    elif hasattr(figure, "write_html"):
        figure.write_html(buffer, **save_kwargs)
    else:
        raise InvalidParameter(f"log_figure takes a matplotlib or plotly figure, got {type(figure).__name__}.")
    data = buffer.getvalue()
    write_bytes(_client().artifact_dir(run_id), artifact_file, data if isinstance(data, bytes) else data.encode())


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The local folder (or file) of the active run's artifacts.

    Parameters
    ----------
    artifact_path : str, optional
        A path inside the run's artifacts.

    Returns
    -------
    str
    """
    root = _client().artifact_dir(_run_id())
    return str(safe_join(root, artifact_path))


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> Any:
    """Search runs; a pandas DataFrame by default, with MLflow's columns.

    Parameters
    ----------
    experiment_ids, experiment_names : list of str, optional
        Experiments to search; the active experiment by default.
    filter_string : str
        MLflow's filter language plus ``OR`` and parentheses, e.g.
        ``"metrics.rmse < 1 and (params.model = 'rf' or tags.team ILIKE '%ml%')"``.
    run_view_type : int
        ``ViewType.ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``.
    max_results : int
        At most this many runs.
    order_by : list of str, optional
        e.g. ``["metrics.accuracy DESC"]``; newest first by default.
    output_format : {"pandas", "list"}
        A DataFrame (columns ``run_id, experiment_id, status, artifact_uri,
        start_time, end_time, metrics.*, params.*, tags.*``) or a list of Run.
    search_all_experiments : bool
        Search every experiment when none is named.

    Returns
    -------
    pandas.DataFrame or list of Run

    Raises
    ------
    InvalidParameter
        Bad filter (the message points at the token), order or format.
    An experiment name that matches no experiment is skipped (an empty result when none matches), as in MLflow.
    """
    check_args(
        experiment_ids=experiment_ids,
        experiment_names=experiment_names,
        filter_string=filter_string,
        max_results=max_results,
        order_by=order_by,
        output_format=output_format,
    )
    client = _client()
    if output_format not in ("pandas", "list"):
        raise InvalidParameter(f"output_format must be 'pandas' or 'list', got {output_format!r}.")
    ids: list[str] = [str(e) for e in (experiment_ids or [])]
    for name in experiment_names or []:
        exp = client.get_experiment_by_name(name)
        if exp is not None:  # MLflow skips names that match no experiment
            ids.append(exp.experiment_id)
    if not ids and experiment_names:
        ids = []  # only unknown names: an empty result, as in MLflow
        return [] if output_format == "list" else _empty_frame()
    if not ids:
        if search_all_experiments:
            ids = [e.experiment_id for e in client.search_experiments(ViewType.ALL)]
        else:
            ids = [_experiment_id()]
    if output_format == "list":
        return client.search_runs(ids, filter_string, run_view_type, max_results, order_by)
    # the store answers from its columns where it can (no document is read)
    return client.search_runs_frame(ids, filter_string or None, run_view_type, max_results, order_by)
