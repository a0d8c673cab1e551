"""Post-training metrics: metric calls on predictions of a logged model land in that model's run.

``model.predict(X_test)`` remembers ``id(result) → (run, "X_test")`` (cleared when
the result is garbage-collected); a later ``accuracy_score(y_test, result)`` or
``model.score(X_test, y_test)`` logs ``accuracy_score_X_test`` (then
``accuracy_score-2_X_test``...) into the run, even after the run ended.
"""

from __future__ import annotations

import functools
import sys
import time
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from nbtrack.autolog import datasets as _datasets
from nbtrack.autolog.safety import report
from nbtrack.autolog.state import state
from nbtrack.tracking import state as tracking

_EXCLUDED_METRICS = ("check_scoring", "get_scorer", "make_scorer", "get_scorer_names")

_models: dict[int, tuple[weakref.ref[Any], str]] = {}
_predictions: dict[int, tuple[str, str]] = {}
_eval_datasets: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
_metric_calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
_logged_inputs: set[tuple[str, str]] = set()


def reset() -> None:
    """Forget every registered model and prediction."""
    _models.clear()
    _predictions.clear()
    _eval_datasets.clear()
    _metric_calls.clear()
    _logged_inputs.clear()


def register_model(model: Any, run_id: str) -> None:
    """Remember that ``model`` was logged in ``run_id``."""
    key = id(model)
    try:
        ref = weakref.ref(model, lambda _r: _models.pop(key, None))
    except TypeError:
        return
    _models[key] = (ref, run_id)


def run_of(model: Any) -> str | None:
    """The run a model was logged in, if it was."""
    entry = _models.get(id(model))
    if entry is None or entry[0]() is not model:
        return None
    return entry[1]


def _with_index(name: str, index: int) -> str:
    return name if index == 0 else f"{name}-{index + 1}"


def _dataset_name(run_id: str, data: Any) -> str:
    name = _datasets.caller_variable(data, sys._getframe(2)) or "unknown_dataset"
    seen = _eval_datasets[run_id][name]
    if id(data) in seen:
        return _with_index(name, seen.index(id(data)))
    seen.append(id(data))
    return _with_index(name, len(seen) - 1)


def _first_arg(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if args:
        return args[0]
    return next(iter(kwargs.values()), None)


def _log_metric(run_id: str, metric_name: str, dataset: str, value: Any) -> None:

    index = _metric_calls[run_id][metric_name]
    _metric_calls[run_id][metric_name] = index + 1
    key = f"{_with_index(metric_name, index)}_{dataset}"
    tracking.get_client().log_metric(run_id, key, float(value), int(time.time() * 1000), 0)


def _loggable(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def predict_logic(est: Any, call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Body of patched ``predict``-like methods."""
    cfg = state.active()
    if cfg is None or not cfg.log_post_training_metrics or not _models:
        return call(*args, **kwargs)
    run_id = run_of(est)
    if run_id is None:
        return call(*args, **kwargs)
    state.depth += 1
    try:
        result = call(*args, **kwargs)
    finally:
        state.depth -= 1
    try:
        data = _first_arg(args, kwargs)
        name = _dataset_name(run_id, data)
        key = id(result)
        weakref.finalize(result, _predictions.pop, key, None)
        _predictions[key] = (run_id, name)
        if cfg.log_datasets and data is not None:
            item = _datasets.dataset_input(data, None, "eval", name)
            if (run_id, item.dataset.digest) not in _logged_inputs:
                tracking.get_client().log_inputs(run_id, [item])
                _logged_inputs.add((run_id, item.dataset.digest))
    except TypeError:
        pass  # the result cannot be tracked by identity (e.g. a tuple)
    except Exception as exc:
        report(exc, "recording predictions for post-training metrics")
    return result


def score_logic(est: Any, call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Body of patched ``score`` methods: logs ``{Class}_score_{dataset}``."""
    cfg = state.active()
    run_id = run_of(est) if cfg is not None and cfg.log_post_training_metrics and _models else None
    if run_id is None:
        return call(*args, **kwargs)
    state.depth += 1
    try:
        value = call(*args, **kwargs)
    finally:
        state.depth -= 1
    try:
        if _loggable(value):
            name = _dataset_name(run_id, _first_arg(args, kwargs))
            _log_metric(run_id, f"{type(est).__name__}_score", name, value)
    except Exception as exc:
        report(exc, "logging a post-training score")
    return value


def wrap_metric(func: Callable[..., Any]) -> Callable[..., Any]:
    """A ``sklearn.metrics`` function that also logs its value when it scores a logged model's predictions."""
    metric_name = func.__name__

    @functools.wraps(func)
    def metric(*args: Any, **kwargs: Any) -> Any:
        cfg = state.active()
        if cfg is None or not cfg.log_post_training_metrics or not _predictions:
            return func(*args, **kwargs)
        state.depth += 1
        try:
            value = func(*args, **kwargs)
        finally:
            state.depth -= 1
        try:
            if _loggable(value):
                for arg in (*args, *kwargs.values()):
                    found = _predictions.get(id(arg)) if arg is not None else None
                    if found is not None:
                        _log_metric(found[0], metric_name, found[1], value)
                        break
        except Exception as exc:
            report(exc, f"logging post-training metric {metric_name}")
        return value

    return metric


def metric_names() -> list[str]:
    """The metric functions of ``sklearn.metrics`` that get patched."""
    import inspect

    from sklearn import metrics

    return [
        name
        for name in metrics.__all__
        if name not in _EXCLUDED_METRICS
        and not name.startswith("plot_")
        and callable(getattr(metrics, name, None))
        and not inspect.isclass(getattr(metrics, name))
    ]
