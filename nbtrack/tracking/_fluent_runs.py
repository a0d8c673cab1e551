"""Runs and experiments of the fluent API: ``start_run``, ``end_run``, ``active_run``, ``set_experiment``, ``log_metric``.

The state they act on (the calling thread's run stack, the active experiment, the client) lives in
:mod:`nbtrack.tracking.state`; :mod:`nbtrack.tracking.fluent` re-exports these functions.
"""

from __future__ import annotations

import os
import time
from typing import Any

from nbtrack import _validation as v
from nbtrack import config
from nbtrack.entities import (
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    Tags,
)
from nbtrack.errors import InvalidParameter, InvalidState
from nbtrack.tracking import pending, state
from nbtrack.tracking._context import context_tags


class ActiveRun:
    """The run returned by :func:`start_run`; a context manager that ends the run on exit.

    On exit the run is FINISHED, FAILED if the block raised, or KILLED on
    ``KeyboardInterrupt``.
    """

    def __init__(self, run: Run) -> None:
        self._run = run

    @property
    def info(self) -> RunInfo:
        """The run's :class:`~nbtrack.entities.RunInfo`."""
        return self._run.info

    @property
    def data(self) -> Any:
        """The run's data when it was started (use :func:`get_run` for fresh values)."""
        return self._run.data

    @property
    def inputs(self) -> Any:
        """The run's inputs when it was started."""
        return self._run.inputs

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.info.run_id!r}, run_name={self.info.run_name!r}>"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        _end_run_id(self.info.run_id, status)


# -- tracking URI and experiments -----------------------------------------
def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Point nbtrack at a store.

    Parameters
    ----------
    uri : str or path-like
        A folder (created on first write), a ``file:`` URI, or ``memory:``.

    Raises
    ------
    InvalidParameter
        The URI is empty or names a remote server.
    """
    config.set_tracking_uri(uri)
    if state.experiment_id() is not None and os.environ.get("MLFLOW_EXPERIMENT_ID") == state.experiment_id():
        del os.environ["MLFLOW_EXPERIMENT_ID"]  # set by set_experiment for another store
    state.set_experiment_id(None)


def get_tracking_uri() -> str:
    """Return the store in use (absolute folder path or ``memory:`` URI)."""
    return config.get_tracking_uri()


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment active, creating it by name if missing.

    Parameters
    ----------
    experiment_name : str, optional
        Free text, e.g. ``"churn"`` or ``"/Users/me/churn"``.
    experiment_id : str, optional
        An existing experiment's id (instead of the name).

    Returns
    -------
    Experiment

    Raises
    ------
    InvalidParameter
        Neither or both of name and id given.
    NotFound
        ``experiment_id`` does not exist.
    InvalidState
        The experiment is deleted.
    """
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidParameter("set_experiment takes exactly one of experiment_name or experiment_id.")
    if experiment_name is not None:
        experiment_name = v.validate_experiment_name(experiment_name)
    if experiment_id is not None:
        experiment_id = v.validate_experiment_id(experiment_id)
    client = state.get_client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        assert experiment_name is not None
        found = client.get_experiment_by_name(experiment_name)
        if found is None:
            try:
                client.create_experiment(experiment_name)
            except Exception as exc:  # another kernel created it a moment ago
                if client.get_experiment_by_name(experiment_name) is None:
                    raise exc
            found = client.get_experiment_by_name(experiment_name)
        assert found is not None
        experiment = found
    if experiment.lifecycle_stage != "active":
        raise InvalidState(
            f"Experiment {experiment.name!r} is deleted; restore it with nbtrack.tracking.MlflowClient()"
            f".restore_experiment({experiment.experiment_id!r}) or pick another name."
        )
    state.set_experiment_id(experiment.experiment_id)
    # As MLflow does: processes started from here (spawn and forkserver pools, subprocesses) inherit the choice.
    os.environ["MLFLOW_EXPERIMENT_ID"] = experiment.experiment_id
    return experiment


def active_experiment_id() -> str:
    """The experiment new runs go to: ``set_experiment``'s, else ``MLFLOW_EXPERIMENT_ID``/``_NAME``, else ``"0"``.

    Returns
    -------
    str
    """
    chosen = state.experiment_id()
    if chosen is not None:
        return chosen
    env_id = os.environ.get("MLFLOW_EXPERIMENT_ID") or os.environ.get("NBTRACK_EXPERIMENT_ID")
    if env_id:
        return env_id
    env_name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or os.environ.get("NBTRACK_EXPERIMENT_NAME")
    if env_name:
        return set_experiment(env_name).experiment_id
    return "0"


# -- runs -----------------------------------------------------------------
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it active.

    Parameters
    ----------
    run_id : str, optional
        Resume this run instead of creating one.
    experiment_id : str, optional
        Defaults to the active experiment (:func:`set_experiment`), else ``"0"``.
    run_name : str, optional
        Defaults to a readable random name such as ``swift-otter-417``.
    nested : bool
        Start a child of the active run; without it, starting a run while one
        is active raises.
    parent_run_id : str, optional
        Explicit parent (must be the active run when ``nested``).
    tags : dict, optional
        Extra tags.
    description : str, optional
        Stored in the ``mlflow.note.content`` tag.
    log_system_metrics : bool, optional
        Accepted for MLflow compatibility; ignored.

    Returns
    -------
    ActiveRun
        Use as ``with nbtrack.start_run() as run:``.
    """
    tags = v.validate_mapping(tags, "tags")
    nested = v.validate_bool(nested, "nested")
    run_name = v.validate_optional_text(run_name, "run_name", v.MAX_RUN_NAME_LENGTH)
    description = v.validate_optional_text(description, "description", v.MAX_TAG_VALUE_LENGTH)
    if run_id is not None:
        run_id = v.validate_run_id(run_id)
    if parent_run_id is not None:
        parent_run_id = v.validate_run_id(parent_run_id)
    if experiment_id is not None:
        experiment_id = v.validate_experiment_id(experiment_id)
    client = state.get_client()
    with state.lock:
        stack = state.active_runs()
        if stack and not nested:
            raise InvalidState(
                f"Run with UUID {stack[-1].info.run_id} is already active. To start a new run, first end "
                "the current run with nbtrack.end_run(). To start a nested run, call start_run with nested=True."
            )
        if run_id is not None:
            existing = client.get_run(run_id)
            if existing.info.lifecycle_stage == LifecycleStage.DELETED:
                raise InvalidState(
                    f"Cannot start run with ID {run_id} because it is in the deleted state; restore it first "
                    f"with nbtrack.restore_run({run_id!r})."
                )
            if experiment_id is not None and str(experiment_id) != existing.info.experiment_id:
                raise InvalidParameter(
                    f"The run {run_id} belongs to experiment {existing.info.experiment_id}, not to the "
                    f"experiment_id {experiment_id} given to start_run."
                )
            client.update_run(run_id, status=RunStatus.RUNNING, name=run_name)
            extra = {k: str(val) for k, val in (tags or {}).items()}
            if description:
                extra[Tags.NOTE] = description
            if extra:
                client.log_batch(run_id, tags=[RunTag(k, val) for k, val in extra.items()])
            run = client.get_run(existing.info.run_id)  # keeps every tag the run had
        else:
            all_tags = {**context_tags(), **{v.validate_key(k, "tag key"): v.stringify(val) for k, val in tags.items()}}
            inherited = state.inherited_parent_id() if nested else None
            parent = parent_run_id or (stack[-1].info.run_id if nested and stack else inherited)
            if parent:
                all_tags[Tags.PARENT_RUN_ID] = parent
            if description:
                all_tags[Tags.NOTE] = description
            exp_id = str(experiment_id) if experiment_id is not None else active_experiment_id()
            run = client.create_run(exp_id, tags=all_tags, run_name=run_name)
        active = ActiveRun(run)
        stack.append(active)
        state.set_last_run_id(run.info.run_id)
        state.export_active_run(run.info.run_id)
        return active


def _end_run_id(run_id: str, status: str) -> None:
    with state.lock:
        stack = state.active_runs()
        if all(r.info.run_id != run_id for r in stack):
            return  # ended already (or by another thread's reset): nothing of this thread's to end
        # End any nested runs still open above this one, then this one.
        while stack:
            top = stack.pop()
            pending.wait(top.info.run_id, ending=True)  # the run's artifacts are written once end_run returns
            state.get_client().set_terminated(top.info.run_id, status)
            state.set_last_run_id(top.info.run_id)
            state.export_active_run(stack[-1].info.run_id if stack else None)
            if top.info.run_id == run_id:
                break


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run, if any; the run is durable when this returns.

    Parameters
    ----------
    status : str
        ``"FINISHED"`` (default), ``"FAILED"`` or ``"KILLED"``.
    """
    if not isinstance(status, str) or status not in RunStatus.TERMINATED:
        raise InvalidParameter(f"end_run needs one of {', '.join(RunStatus.TERMINATED)}, got {status!r}.")
    run_id = state.active_run_id()
    if run_id is not None:
        _end_run_id(run_id, status)


def active_run() -> ActiveRun | None:
    """Return the calling thread's active run, or ``None``."""
    stack = state.active_runs()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """Return the active run, else the run most recently started in this process (fresh from the store)."""
    run_id = state.active_run_id() or state.last_run_id()
    return state.get_client().get_run(run_id) if run_id else None


def run_id_for_logging() -> str:
    """The calling thread's active run id, starting a run first if none is active (as MLflow's logging calls do).

    Returns
    -------
    str
    """
    return state.active_run_id() or start_run().info.run_id


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log one metric point (MLflow's signature).

    Parameters
    ----------
    key : str
        Metric name (same rules as param keys).
    value : float
        Any real number, numpy scalars included; NaN and ±inf are kept.
    step : int, optional
        Defaults to 0.
    synchronous : bool, optional
        Accepted for MLflow compatibility; every write is synchronous.
    timestamp : int, optional
        Milliseconds since the epoch; defaults to now.
    run_id : str, optional
        Log into this run (without starting or activating it); the active run by default, and
        a new run starts if none is active.
    model_id, dataset : optional
        Accepted for MLflow compatibility; unused.

    Raises
    ------
    InvalidParameter
        Bad key, a value that is not a number, or a non-integer step.
    NotFound
        ``run_id`` does not exist.
    """
    v.validate_metric_value(v.validate_key(key, "metric key"), value)  # before a run is started for it
    v.validate_step(step)
    if timestamp is not None:
        v.validate_timestamp(timestamp)
    target = run_id if run_id is not None else run_id_for_logging()
    state.get_client().log_metric(target, key, value, timestamp, step)


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log several metrics at one step and timestamp, all or nothing (MLflow's signature).

    Parameters
    ----------
    metrics : dict
        Metric names to numbers.
    step : int, optional
        Defaults to 0.
    synchronous : bool, optional
        Accepted for MLflow compatibility; every write is synchronous.
    run_id : str, optional
        Log into this run instead of the active one.
    timestamp : int, optional
        Milliseconds since the epoch; defaults to now.
    model_id, dataset : optional
        Accepted for MLflow compatibility; unused.

    Raises
    ------
    InvalidParameter
        ``metrics`` is not a dict, or a key or value is invalid.
    """
    if not isinstance(metrics, dict):
        raise InvalidParameter(f"log_metrics takes a dict, got {type(metrics).__name__}.")
    ts = int(time.time() * 1000) if timestamp is None else v.validate_timestamp(timestamp)
    st = v.validate_step(step)
    for k, val in metrics.items():
        v.validate_metric_value(v.validate_key(k, "metric key"), val)
    target = run_id if run_id is not None else run_id_for_logging()
    state.get_client().log_batch(target, metrics=[Metric(k, val, ts, st) for k, val in metrics.items()])


def reset() -> None:
    """End nothing, forget everything: every thread's active runs, the experiment, the client (tests)."""
    try:
        pending.wait()
    except Exception:  # a failed background write belongs to what came before the reset
        pass
    state.reset()
