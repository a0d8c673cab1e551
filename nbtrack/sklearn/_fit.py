"""What a patched ``fit`` does: pick or start the run, log params/tags/data, fit, log metrics and model."""

from __future__ import annotations

import inspect
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

from nbtrack.autolog import datasets as _datasets
from nbtrack.autolog.safety import report
from nbtrack.autolog.state import Config, state
from nbtrack.entities import DatasetInput, Metric, RunStatus, RunTag, Tags
from nbtrack.sklearn import _metrics, _post_training
from nbtrack.sklearn._estimator import estimator_tags, is_search, param_list
from nbtrack.sklearn._patching import is_excluded
from nbtrack.tracking import state as tracking

_SAMPLE_WEIGHT = "sample_weight"
_arg_names: dict[tuple[type, str], list[str]] = {}
_excluded: dict[type, bool] = {}
_log = logging.getLogger("nbtrack.autolog")
_trained: dict[int, tuple[Any, DatasetInput | None, dict[str, Any] | None]] = {}


def trained_on(est: Any) -> tuple[DatasetInput | None, dict[str, Any] | None]:
    """The training data fingerprint and input signature of an estimator fitted under autolog."""
    entry = _trained.get(id(est))
    if entry is None or entry[0]() is not est:
        return None, None
    return entry[1], entry[2]


def _remember(est: Any, train: DatasetInput | None, X: Any) -> None:
    import weakref

    from nbtrack.sklearn._models import signature_of

    key = id(est)
    try:
        ref = weakref.ref(est, lambda _r: _trained.pop(key, None))
    except TypeError:
        return
    _trained[key] = (ref, train, signature_of(X))


def _names(est: Any, call: Callable[..., Any]) -> list[str]:
    key = (type(est), getattr(call, "__name__", ""))
    names = _arg_names.get(key)
    if names is None:
        try:
            names = list(inspect.signature(call).parameters)
        except (TypeError, ValueError):
            names = ["X", "y"]
        _arg_names[key] = names
    return names


def split_args(est: Any, call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """``(X, y, sample_weight)`` from a fit call, as MLflow reads them."""
    names = _names(est, call)
    x_name = names[0] if names else "X"
    y_name = names[1] if len(names) > 1 else "y"
    if len(args) >= 2:
        X, y = args[0], args[1]
    elif len(args) == 1:
        X, y = args[0], kwargs.get(y_name)
    else:
        X, y = kwargs.get(x_name), kwargs.get(y_name)
    sample_weight = None
    if _SAMPLE_WEIGHT in names:
        index = names.index(_SAMPLE_WEIGHT)
        sample_weight = args[index] if len(args) > index else kwargs.get(_SAMPLE_WEIGHT)
    return X, y, sample_weight


class _Session:
    """One logged fit: the run it writes to and the data it saw."""

    def __init__(self, run_id: str, own: bool, X: Any, y: Any, sample_weight: Any, train: DatasetInput | None) -> None:
        self.run_id = run_id
        self.own = own
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.train = train
        self.after_end: Callable[[], Any] | None = None  # work queued once the run ended (the plots)


def _client() -> Any:
    return tracking.get_client()


def _start(
    est: Any, call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], cfg: Config
) -> _Session | None:
    from nbtrack.tracking import fluent

    X, y, sample_weight = split_args(est, call, args, kwargs)
    tags = {**cfg.extra_tags}
    active = fluent.active_run()
    if active is None:
        run_id, own = fluent.start_run(tags={**tags, Tags.AUTOLOGGING: "sklearn"}).info.run_id, True
    elif active.info.run_id in state.runs_with_fit:
        run_id, own = fluent.start_run(nested=True, tags={**tags, Tags.AUTOLOGGING: "sklearn"}).info.run_id, True
    elif cfg.exclusive:
        return None
    else:
        run_id, own = active.info.run_id, False
    state.runs_with_fit.add(run_id)
    session = _Session(run_id, own, X, y, sample_weight, None)
    try:
        client = _client()
        params = est.get_params(deep=not is_search(est))
        tag_list = [RunTag(k, val) for k, val in {**tags, **estimator_tags(est)}.items()]
        client.log_batch(run_id, params=param_list(params), tags=tag_list)
        if cfg.log_datasets and X is not None:
            name = _datasets.caller_variable(X, sys._getframe(1))
            session.train = _datasets.dataset_input(X, y, "train", name)
            client.log_inputs(run_id, [session.train])
    except Exception:
        if own:
            _end(session, RunStatus.FAILED)
        raise
    return session


def _end(session: _Session, status: str) -> None:
    from nbtrack.tracking import fluent

    if not session.own:
        return
    active = fluent.active_run()
    if active is not None and active.info.run_id == session.run_id:
        fluent.end_run(status)
    else:
        _client().set_terminated(session.run_id, status)


class _Serializer(threading.Thread):
    """Serialises the fitted model while the training metrics are computed.

    Tree prediction releases the GIL and skops serialisation is mostly Python,
    so on a multi-core machine the two overlap; the fit returns only after both.
    """

    def __init__(self, model: Any) -> None:
        super().__init__(name="nbtrack-model-serializer", daemon=True)
        self.model = model
        self.data: bytes | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        from nbtrack.sklearn import _models

        try:
            self.data = _models.serialize(self.model)
        except BaseException as exc:
            self.error = exc

    def result(self) -> bytes:
        self.join()
        if self.error is not None:
            raise self.error
        assert self.data is not None
        return self.data


def _finish(est: Any, session: _Session, cfg: Config) -> None:
    import time

    client = _client()
    search = is_search(est)
    best = getattr(est, "best_estimator_", None) if search else None
    # As MLflow: ``model`` is the fitted estimator (the search itself for a search), ``best_estimator`` its best.
    serializer = _Serializer(est) if cfg.log_models else None
    if serializer is not None:
        serializer.start()
    predictions: dict[str, Any] = {}
    try:
        metrics = _metrics.training_metrics(
            est, session.X, session.y, session.sample_weight, cfg.pos_label, keep=predictions
        )
        if search:
            from nbtrack.sklearn import _search_cv

            _search_cv.log_search(client, session.run_id, est, session.train, cfg, metrics)
    finally:
        if serializer is not None:
            serializer.join()
    if metrics:
        ts = int(time.time() * 1000)
        client.log_batch(session.run_id, metrics=[Metric(k, val, ts, 0) for k, val in metrics.items()])
    if serializer is not None:
        from nbtrack.sklearn import _models

        data = serializer.result()  # a model skops cannot save fails here, after the metrics are in

        _models.log_to_run(
            client,
            session.run_id,
            est,
            "model",
            X=session.X if cfg.log_model_signatures else None,
            train=session.train,
            input_example=session.X if cfg.log_input_examples else None,
            registered_model_name=cfg.registered_model_name,
            data=data,
        )
        if best is not None:
            _models.log_to_run(
                client,
                session.run_id,
                best,
                "best_estimator",
                X=session.X if cfg.log_model_signatures else None,
                train=session.train,
            )
    _remember(est, session.train, session.X)
    if cfg.log_post_training_metrics:
        _post_training.register_model(est, session.run_id)
    if predictions:
        from nbtrack.sklearn import _plots

        y, weights = session.y, session.sample_weight
        if session.own:  # queued after the run ended, so drawing does not compete with the fit's last writes
            session.after_end = lambda: _plots.submit(client, session.run_id, est, y, predictions, weights, True)
        else:
            _plots.submit(client, session.run_id, est, y, predictions, weights, False)


def fit_logic(est: Any, call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The body of every patched ``fit`` / ``fit_transform`` / ``fit_predict``."""
    __tracebackhide__ = True  # a failing fit's traceback shows the user's code and sklearn's, not ours
    cfg = state.active()
    if cfg is None:
        return call(*args, **kwargs)
    cls = type(est)
    excluded = _excluded.get(cls)
    if excluded is None:
        excluded = _excluded[cls] = is_excluded(cls)
    if excluded:
        return call(*args, **kwargs)
    state.depth += 1
    try:
        session = None
        try:
            session = _start(est, call, args, kwargs, cfg)
        except Exception as exc:
            report(exc, "starting the run of this fit")
        if session is None:
            return call(*args, **kwargs)
        try:
            result = call(*args, **kwargs)
        except BaseException as user_error:
            try:
                _end(session, RunStatus.KILLED if isinstance(user_error, KeyboardInterrupt) else RunStatus.FAILED)
            except Exception as exc:  # the user's error matters more than ours
                _log.warning("nbtrack autolog: could not end the run of a failed fit: %s", exc)
            raise
        try:
            _finish(est, session, cfg)
        except Exception as exc:
            try:
                _end(session, RunStatus.FINISHED)
            finally:
                report(exc, f"logging the fit of {cls.__name__}")
            return result
        _end(session, RunStatus.FINISHED)
        if session.after_end is not None:
            try:
                session.after_end()
            except Exception as exc:
                report(exc, "queueing the classifier plots")
        return result
    finally:
        state.depth -= 1


def suspend_logic(call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run ``call`` with autolog suspended (cross-validation helpers: no run per fold)."""
    state.suspended += 1
    try:
        return call(*args, **kwargs)
    finally:
        state.suspended -= 1
