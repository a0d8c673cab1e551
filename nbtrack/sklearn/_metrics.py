"""Training metrics with MLflow's names and definitions, from one ``predict`` (and one ``predict_proba``).

MLflow calls ``predict`` once per metric function and ``score`` on top; here the
predictions are computed once and every metric derives from them, and the
default ``score`` of classifiers (accuracy) and regressors (R²) is reused
instead of predicting again.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from nbtrack.autolog.safety import logger


def _accepts_sample_weight(func: Any) -> bool:
    try:
        return "sample_weight" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _argmax_predicts(est: Any) -> bool:
    """Whether ``predict`` is by definition the class of highest ``predict_proba`` (trees, forests)."""
    from sklearn.ensemble._forest import ForestClassifier
    from sklearn.tree import BaseDecisionTree

    cls = type(est)
    if getattr(est, "n_outputs_", 1) != 1:
        return False
    return (isinstance(est, ForestClassifier) and cls.predict is ForestClassifier.predict) or (
        isinstance(est, BaseDecisionTree) and cls.predict is BaseDecisionTree.predict
    )


def _log_loss(y: Any, proba: Any, sample_weight: Any) -> float:
    from sklearn import metrics as skm

    if "y_proba" in inspect.signature(skm.log_loss).parameters:
        return float(skm.log_loss(y, y_proba=proba, sample_weight=sample_weight))
    return float(skm.log_loss(y, proba, sample_weight=sample_weight))


def _classifier(
    est: Any, X: Any, y: Any, sample_weight: Any, pos_label: Any, prefix: str, keep: dict[str, Any] | None = None
) -> dict[str, float]:
    import numpy as np

    from nbtrack.sklearn import _fastmetrics

    proba = None
    if hasattr(est, "predict_proba"):
        try:
            proba = est.predict_proba(X)
        except Exception as exc:
            logger.debug("predict_proba skipped: %s", exc)
    if proba is not None and _argmax_predicts(est):
        y_pred = est.classes_.take(np.argmax(proba, axis=1), axis=0)
    else:
        y_pred = est.predict(X)
    if keep is not None:  # the predictions the classifier plots are drawn from
        keep.update(y_pred=y_pred, proba=proba)
    fast = _fastmetrics.classification(y, y_pred, proba, getattr(est, "classes_", None), sample_weight, pos_label)
    if fast is None:
        return _sklearn_classifier(y, y_pred, proba, sample_weight, pos_label, prefix)
    if "roc_auc" in fast and math.isnan(fast["roc_auc"]):
        del fast["roc_auc"]
        fast.update(_sklearn_roc_auc(y, proba, sample_weight))
    return {prefix + k: v for k, v in fast.items()}


def _sklearn_roc_auc(y: Any, proba: Any, sample_weight: Any) -> dict[str, float]:
    from sklearn import metrics as skm

    try:
        score = proba[:, 1] if proba.ndim == 2 and proba.shape[1] == 2 else proba
        value = skm.roc_auc_score(y, score, average="weighted", sample_weight=sample_weight, multi_class="ovo")
        return {"roc_auc": float(value)}
    except Exception as exc:
        logger.debug("roc_auc skipped: %s", exc)
        return {}


def _sklearn_classifier(
    y: Any, y_pred: Any, proba: Any, sample_weight: Any, pos_label: Any, prefix: str
) -> dict[str, float]:
    from sklearn import metrics as skm

    out: dict[str, float] = {}
    average = "weighted" if pos_label is None else "binary"
    for name, func in (
        ("precision_score", skm.precision_score),
        ("recall_score", skm.recall_score),
        ("f1_score", skm.f1_score),
    ):
        try:
            out[prefix + name] = float(
                func(y, y_pred, average=average, pos_label=pos_label, sample_weight=sample_weight)
            )
        except Exception as exc:
            logger.debug("%s skipped: %s", name, exc)
    try:
        out[prefix + "accuracy_score"] = float(
            skm.accuracy_score(y, y_pred, normalize=True, sample_weight=sample_weight)
        )
    except Exception as exc:
        logger.debug("accuracy skipped: %s", exc)
    if proba is not None:
        try:
            out[prefix + "log_loss"] = _log_loss(y, proba, sample_weight)
        except Exception as exc:
            logger.debug("log_loss skipped: %s", exc)
        out.update({prefix + k: val for k, val in _sklearn_roc_auc(y, proba, sample_weight).items()})
    return out


def _regressor(est: Any, X: Any, y: Any, sample_weight: Any, prefix: str) -> dict[str, float]:
    from sklearn import metrics as skm

    from nbtrack.sklearn import _fastmetrics

    y_pred = est.predict(X)
    fast = _fastmetrics.regression(y, y_pred, sample_weight)
    if fast is not None:
        return {prefix + k: v for k, v in fast.items()}
    out: dict[str, float] = {}
    for name, func in (
        ("mean_squared_error", skm.mean_squared_error),
        ("mean_absolute_error", skm.mean_absolute_error),
        ("r2_score", skm.r2_score),
    ):
        try:
            out[prefix + name] = float(func(y, y_pred, sample_weight=sample_weight, multioutput="uniform_average"))
        except Exception as exc:
            logger.debug("%s skipped: %s", name, exc)
    if prefix + "mean_squared_error" in out:
        out[prefix + "root_mean_squared_error"] = math.sqrt(out[prefix + "mean_squared_error"])
    return out


def training_metrics(
    est: Any,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    pos_label: Any = None,
    prefix: str = "training_",
    keep: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Compute MLflow's training metrics of a fitted estimator.

    Parameters
    ----------
    est : estimator
        The fitted estimator.
    X, y : array-like
        Training data (``y`` may be ``None`` for unsupervised estimators).
    sample_weight : array-like, optional
        Weights passed to ``fit``; every metric honours them.
    pos_label : optional
        Positive label of binary precision/recall/f1; ``None`` (MLflow's default)
        averages over classes weighted by support.
    prefix : str
        Metric name prefix.
    keep : dict, optional
        Receives the classifier's ``y_pred`` and ``proba`` (``None`` without ``predict_proba``).

    Returns
    -------
    dict
        ``{name: value}`` for each metric that could be computed.
    """
    from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier, is_regressor

    out: dict[str, float] = {}
    if y is not None and hasattr(est, "predict"):
        if is_classifier(est):
            out = _classifier(est, X, y, sample_weight, pos_label, prefix, keep)
        elif is_regressor(est):
            out = _regressor(est, X, y, sample_weight, prefix)
    score_func = getattr(type(est), "score", None)
    if score_func is None or y is None:  # as MLflow: no training score without labels
        return out
    if score_func is ClassifierMixin.score and prefix + "accuracy_score" in out:
        out[prefix + "score"] = out[prefix + "accuracy_score"]
    elif score_func is RegressorMixin.score and prefix + "r2_score" in out:
        out[prefix + "score"] = out[prefix + "r2_score"]
    else:
        try:
            if _accepts_sample_weight(est.score):
                score = est.score(X, y, sample_weight=sample_weight)
            else:
                score = est.score(X, y)
        except Exception as exc:
            logger.debug("score skipped: %s", exc)
        else:
            value = _plain(score)
            if value is not None:
                out[prefix + "score"] = value
    return out
