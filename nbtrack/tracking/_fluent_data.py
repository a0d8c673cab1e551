"""Params, tags, inputs and run look-ups of the fluent API (re-exported by :mod:`nbtrack.tracking.fluent`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbtrack import _validation as v
from nbtrack.entities import DatasetInput, Metric, Param, Run, RunTag
from nbtrack.errors import InvalidParameter
from nbtrack.tracking._fluent_runs import run_id_for_logging as _run_id
from nbtrack.tracking.state import get_client as _client


def log_param(key: str, value: Any) -> Any:
    """Log a param on the active run (a run starts if none is active).

    Parameters
    ----------
    key : str
        Up to 250 characters: letters, digits, ``_ - . / :`` and spaces.
    value : Any
        Stored as ``str(value)``, at most 6000 characters.

    Returns
    -------
    Any
        ``value``, as MLflow returns it.

    Raises
    ------
    InvalidParameter
        Bad key or value, or the key already holds a different value.
    """
    v.validate_param_value(v.validate_key(key, "param key"), value)  # before a run is started for it
    return _client().log_param(_run_id(), key, value)


def log_params(params: dict[str, Any]) -> None:
    """Log several params at once (all or nothing).

    Parameters
    ----------
    params : dict
        Keys and values as for :func:`log_param`.

    Raises
    ------
    InvalidParameter
        ``params`` is not a dict, a key or value is invalid, or a key already holds another value.
    """
    if not isinstance(params, dict):
        raise InvalidParameter(f"log_params takes a dict, got {type(params).__name__}.")
    for k, val in params.items():
        v.validate_param_value(v.validate_key(k, "param key"), val)
    _client().log_batch(_run_id(), params=[Param(k, val) for k, val in params.items()])


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run (tags, unlike params, may change).

    Parameters
    ----------
    key : str
        Tag name (same rules as param keys).
    value : Any
        Stored as ``str(value)``, at most 8000 characters.
    """
    v.validate_tag_value(v.validate_key(key, "tag key"), value)
    _client().set_tag(_run_id(), key, value)


def set_tags(tags: dict[str, Any]) -> None:
    """Set several tags on the active run.

    Parameters
    ----------
    tags : dict
        Tag names to values (stringified).
    """
    if not isinstance(tags, dict):
        raise InvalidParameter(f"set_tags takes a dict, got {type(tags).__name__}.")
    for k, val in tags.items():
        v.validate_tag_value(v.validate_key(k, "tag key"), val)
    _client().log_batch(_run_id(), tags=[RunTag(k, val) for k, val in tags.items()])


def delete_tag(key: str) -> None:
    """Remove a tag from the active run.

    Parameters
    ----------
    key : str
        The tag to remove.

    Raises
    ------
    NotFound
        The run has no tag of that name.
    """
    v.validate_key(key, "tag key")
    _client().delete_tag(_run_id(), key)


def log_inputs(datasets: Sequence[DatasetInput]) -> None:
    """Record datasets the active run used.

    Parameters
    ----------
    datasets : sequence of DatasetInput
        Each dataset once per context (``mlflow.data.context`` tag).
    """
    _client().log_inputs(_run_id(), datasets)


def get_run(run_id: str) -> Run:
    """Return a run by id.

    Parameters
    ----------
    run_id : str
        The run's id.

    Returns
    -------
    Run

    Raises
    ------
    NotFound
        No run has that id.
    """
    return _client().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    """Every point of a run's metric, in logging order.

    Parameters
    ----------
    run_id : str
        The run's id.
    key : str
        The metric's name.

    Returns
    -------
    list of Metric
        Empty if the metric was never logged.
    """
    return _client().get_metric_history(run_id, key)


def delete_run(run_id: str) -> None:
    """Soft-delete a run: it leaves searches until :func:`restore_run`.

    Parameters
    ----------
    run_id : str
        The run's id.
    """
    _client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    """Restore a soft-deleted run.

    Parameters
    ----------
    run_id : str
        The run's id.
    """
    _client().restore_run(run_id)
