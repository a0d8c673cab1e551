"""Params, tags, inputs and run look-ups of the fluent API (re-exported by :mod:`nbtrack.tracking.fluent`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbtrack import _validation as v
from nbtrack.entities import Dataset, DatasetInput, InputTag, Metric, Param, Run, RunTag, Tags
from nbtrack.errors import InvalidParameter
from nbtrack.tracking._fluent_runs import active_experiment_id as _experiment_id
from nbtrack.tracking._fluent_runs import run_id_for_logging as _run_id
from nbtrack.tracking.state import get_client as _client


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log a param on the active run (a run starts if none is active).

    Parameters
    ----------
    key : str
        Up to 250 characters: letters, digits, ``_ - . / :`` and spaces.
    value : Any
        Stored as ``str(value)``, at most 6000 characters.
    synchronous : bool, optional
        Accepted for MLflow compatibility; every write is synchronous.

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


def log_params(params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None) -> None:
    """Log several params at once (all or nothing).

    Parameters
    ----------
    params : dict
        Keys and values as for :func:`log_param`.
    synchronous : bool, optional
        Accepted for MLflow compatibility; every write is synchronous.
    run_id : str, optional
        Log into this run instead of the active one (no run is started or activated).

    Raises
    ------
    InvalidParameter
        ``params`` is not a dict, a key or value is invalid, or a key already holds another value.
    """
    if not isinstance(params, dict):
        raise InvalidParameter(f"log_params takes a dict, got {type(params).__name__}.")
    for k, val in params.items():
        v.validate_param_value(v.validate_key(k, "param key"), val)
    target = run_id if run_id is not None else _run_id()
    _client().log_batch(target, params=[Param(k, val) for k, val in params.items()])


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """Set a tag on the active run (tags, unlike params, may change).

    Parameters
    ----------
    key : str
        Tag name (same rules as param keys).
    value : Any
        Stored as ``str(value)``, at most 8000 characters.
    synchronous : bool, optional
        Accepted for MLflow compatibility; every write is synchronous.
    """
    v.validate_tag_value(v.validate_key(key, "tag key"), value)
    _client().set_tag(_run_id(), key, value)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    """Set several tags on the active run.

    Parameters
    ----------
    tags : dict
        Tag names to values (stringified).
    synchronous : bool, optional
        Accepted for MLflow compatibility; every write is synchronous.
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


def _as_dataset(dataset: Any) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    to_entity = getattr(dataset, "_to_mlflow_entity", None)
    if callable(to_entity):
        entity = to_entity()
        if isinstance(entity, Dataset):
            return entity
    raise InvalidParameter(
        f"log_input takes a dataset from nbtrack.data.from_pandas / from_numpy (or an entities.Dataset), "
        f"got {type(dataset).__name__}."
    )


def _dataset_input(dataset: Any, context: str | None, tags: dict[str, str] | None) -> DatasetInput:
    if isinstance(dataset, DatasetInput):
        return dataset
    input_tags = [InputTag(str(k), str(val)) for k, val in (tags or {}).items()]
    if context is not None:
        input_tags.append(InputTag(Tags.DATASET_CONTEXT, str(context)))
    return DatasetInput(_as_dataset(dataset), input_tags)


def log_input(
    dataset: Any = None, context: str | None = None, tags: dict[str, str] | None = None, model: Any = None
) -> None:
    """Record a dataset the active run used (MLflow's ``mlflow.log_input``).

    Parameters
    ----------
    dataset : Dataset
        From :func:`nbtrack.data.from_pandas` / :func:`nbtrack.data.from_numpy`.
    context : str, optional
        e.g. ``"train"`` or ``"eval"`` (the ``mlflow.data.context`` input tag).
    tags : dict, optional
        Further input tags.
    model : optional
        Accepted for MLflow compatibility; unused.

    Raises
    ------
    InvalidParameter
        ``dataset`` is not a dataset.
    """
    if dataset is None:
        return
    _client().log_inputs(_run_id(), [_dataset_input(dataset, context, tags)])


def log_inputs(
    datasets: Sequence[Any] | None = None,
    contexts: Sequence[str | None] | None = None,
    tags_list: Sequence[dict[str, str] | None] | None = None,
    models: Any = None,
) -> None:
    """Record datasets the active run used (each dataset once per context).

    Parameters
    ----------
    datasets : sequence of Dataset or DatasetInput
        Datasets from :mod:`nbtrack.data` (or ready ``DatasetInput`` entities).
    contexts : sequence of str, optional
        One context per dataset.
    tags_list : sequence of dict, optional
        Input tags per dataset.
    models : optional
        Accepted for MLflow compatibility; unused.

    Raises
    ------
    InvalidParameter
        The lists differ in length, or an item is not a dataset.
    """
    items = list(datasets or ())
    ctx = list(contexts) if contexts is not None else [None] * len(items)
    tgs = list(tags_list) if tags_list is not None else [None] * len(items)
    if len(ctx) != len(items) or len(tgs) != len(items):
        raise InvalidParameter("datasets, contexts and tags_list must have the same length.")
    inputs = [_dataset_input(d, c, t) for d, c, t in zip(items, ctx, tgs, strict=True) if d is not None]
    if inputs:
        _client().log_inputs(_run_id(), inputs)


def get_parent_run(run_id: str) -> Run | None:
    """Return the parent of a nested run, or ``None`` for a top-level run.

    Parameters
    ----------
    run_id : str
        The child run's id.

    Returns
    -------
    Run or None
    """
    return _client().get_parent_run(run_id)


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag on the active experiment (the one new runs go to).

    Parameters
    ----------
    key : str
        Tag name.
    value : Any
        Stringified.
    """
    _client().set_experiment_tag(_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    """Set several tags on the active experiment.

    Parameters
    ----------
    tags : dict
        Tag names to values (stringified).
    """
    if not isinstance(tags, dict):
        raise InvalidParameter(f"set_experiment_tags takes a dict, got {type(tags).__name__}.")
    experiment_id = _experiment_id()
    for key, value in tags.items():
        _client().set_experiment_tag(experiment_id, key, value)


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
