"""NumPy implementations of the training metrics for the common case (1-D targets, no NaN).

They compute exactly what ``sklearn.metrics`` computes (same formulas, same
weighting, same zero-division convention) without its input validation, which
costs more than the arithmetic on training-sized data. Any unusual input returns
``None`` and the caller falls back to ``sklearn.metrics``.
"""

from __future__ import annotations

import math
from typing import Any


def _weights(sample_weight: Any, n: int) -> Any:
    import numpy as np

    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,) or not np.isfinite(w).all():
        raise ValueError("unusual sample_weight")
    return w


def _vector(y: Any) -> Any:
    import numpy as np

    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        raise ValueError("column vector")  # sklearn warns; let it handle this case
    if a.ndim != 1 or (a.dtype.kind not in "biuUS" and a.dtype.kind != "f"):
        raise ValueError("not a 1-D label vector")
    if a.dtype.kind == "f" and (not np.isfinite(a).all() or (a != np.round(a)).any()):
        raise ValueError("non-integral float labels")
    return a


def classification(
    y_true: Any, y_pred: Any, proba: Any, classes: Any, sample_weight: Any, pos_label: Any
) -> dict[str, float] | None:
    """accuracy, precision/recall/f1 (weighted or binary), log_loss and binary roc_auc; ``None`` if unusual."""
    import numpy as np

    try:
        yt, yp = _vector(y_true), _vector(y_pred)
        if yt.shape != yp.shape or yt.size == 0 or (yt.dtype.kind in "US") != (yp.dtype.kind in "US"):
            return None
        n = yt.shape[0]
        w = _weights(sample_weight, n)
    except (ValueError, TypeError):
        return None
    labels, inverse = np.unique(np.concatenate([yt, yp]), return_inverse=True)
    it, ip = inverse[:n], inverse[n:]
    k = labels.shape[0]
    wt = np.ones(n) if w is None else w
    correct = it == ip
    out: dict[str, float] = {}
    total = float(wt.sum())
    out["accuracy_score"] = float(np.average(correct, weights=w)) if w is not None else float(correct.mean())
    tp = np.bincount(it[correct], weights=wt[correct], minlength=k)
    pred = np.bincount(ip, weights=wt, minlength=k)
    true = np.bincount(it, weights=wt, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(pred > 0, tp / np.where(pred > 0, pred, 1), 0.0)
        recall = np.where(true > 0, tp / np.where(true > 0, true, 1), 0.0)
        denom = pred + true
        f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)
    if pos_label is None:
        if total <= 0 or true.sum() <= 0:
            return None
        support = true
        out["precision_score"] = float(np.average(precision, weights=support))
        out["recall_score"] = float(np.average(recall, weights=support))
        out["f1_score"] = float(np.average(f1, weights=support))
    else:
        if k > 2:
            return None  # sklearn raises for binary averaging of multiclass targets
        hit = np.flatnonzero(labels == pos_label)
        if hit.size != 1:
            return None
        j = int(hit[0])
        out["precision_score"] = float(precision[j])
        out["recall_score"] = float(recall[j])
        out["f1_score"] = float(f1[j])
    if proba is not None:
        extra = _probabilistic(yt, proba, classes, w)
        if extra is None:
            return None
        out.update(extra)
    return out


def _probabilistic(yt: Any, proba: Any, classes: Any, w: Any) -> dict[str, float] | None:
    import numpy as np

    p = np.asarray(proba)
    true_labels = np.unique(yt)
    if p.ndim != 2 or p.shape[0] != yt.shape[0] or classes is None or p.dtype.kind != "f":
        return None
    classes = np.asarray(classes)
    # sklearn's log_loss reads the columns as the sorted labels of y_true; agree only when they coincide.
    if classes.shape[0] != p.shape[1] or true_labels.shape != classes.shape or (true_labels != classes).any():
        return None
    if not np.isfinite(p).all():
        return None
    idx = np.searchsorted(classes, yt)
    eps = np.finfo(p.dtype).eps
    picked = np.clip(p, eps, 1 - eps)[np.arange(yt.shape[0]), idx]
    losses = -np.log(picked)
    out = {"log_loss": float(np.average(losses, weights=w))}
    if p.shape[1] == 2:
        auc = _binary_auc(idx == 1, p[:, 1], w)
        if auc is None:
            return None
        out["roc_auc"] = auc
    else:
        out["roc_auc"] = math.nan  # computed by sklearn (one-vs-one) by the caller
    return out


def _binary_auc(positive: Any, score: Any, w: Any) -> float | None:
    """Area under the ROC curve, ties counted half (equal to sklearn's trapezoidal AUC)."""
    import numpy as np

    wt = np.ones(positive.shape[0]) if w is None else w
    values, group = np.unique(score, return_inverse=True)
    pos = np.bincount(group, weights=wt * positive, minlength=values.shape[0])
    neg = np.bincount(group, weights=wt * ~positive, minlength=values.shape[0])
    total_pos, total_neg = float(pos.sum()), float(neg.sum())
    if total_pos <= 0 or total_neg <= 0:
        return None
    neg_below = np.cumsum(neg) - neg
    return float((pos * (neg_below + 0.5 * neg)).sum() / (total_pos * total_neg))


def regression(y_true: Any, y_pred: Any, sample_weight: Any) -> dict[str, float] | None:
    """mse, rmse (√mse, as MLflow), mae and r2 with uniform averaging over outputs; ``None`` if unusual."""
    import numpy as np

    try:
        yt = np.asarray(y_true, dtype=float)
        yp = np.asarray(y_pred, dtype=float)
    except (ValueError, TypeError):
        return None
    if yt.ndim == 1:
        yt = yt.reshape(-1, 1)
    if yp.ndim == 1:
        yp = yp.reshape(-1, 1)
    if yt.shape != yp.shape or yt.ndim != 2 or yt.shape[0] < 2:
        return None
    if not (np.isfinite(yt).all() and np.isfinite(yp).all()):
        return None
    try:
        w = _weights(sample_weight, yt.shape[0])
    except ValueError:
        return None
    err = yt - yp
    mse = float(np.average(np.average(err**2, axis=0, weights=w)))
    mae = float(np.average(np.average(np.abs(err), axis=0, weights=w)))
    wcol = np.ones((yt.shape[0], 1)) if w is None else w.reshape(-1, 1)
    numerator = (wcol * err**2).sum(axis=0)
    mean = np.average(yt, axis=0, weights=w)
    denominator = (wcol * (yt - mean) ** 2).sum(axis=0)
    r2 = np.ones(yt.shape[1])
    nonzero_den = denominator != 0
    valid = nonzero_den & (numerator != 0)
    r2[valid] = 1 - numerator[valid] / denominator[valid]
    r2[(numerator != 0) & ~nonzero_den] = 0.0
    return {
        "mean_squared_error": mse,
        "root_mean_squared_error": math.sqrt(mse),
        "mean_absolute_error": mae,
        "r2_score": float(np.average(r2)),
    }
