"""The classifier plots MLflow's autolog logs: ``training_confusion_matrix.png``, and for binary classifiers
``training_roc_curve.png`` and ``training_precision_recall_curve.png``.

The predictions come from the training metrics (no extra ``predict``); rendering runs in the background worker of
:mod:`nbtrack.tracking.pending`, with matplotlib's object API (never ``pyplot``, so the notebook's figures and
backend are untouched), and readers of the run's artifacts wait for it.
"""

from __future__ import annotations

import io
from typing import Any

from nbtrack.autolog.safety import report
from nbtrack.tracking import pending
from nbtrack.tracking.artifacts import write_bytes

CONFUSION_MATRIX = "training_confusion_matrix.png"
ROC_CURVE = "training_roc_curve.png"
PRECISION_RECALL_CURVE = "training_precision_recall_curve.png"
_MAX_CLASSES = 50  # a confusion matrix of more classes is unreadable


def _figure() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.subplots_adjust(left=0.14, right=0.96, bottom=0.14, top=0.92)  # fixed margins: tight_layout costs more
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def confusion_matrix_png(y_true: Any, y_pred: Any, classes: Any, sample_weight: Any = None) -> bytes:
    """A confusion matrix (counts, true label by row) as PNG bytes."""
    from sklearn.metrics import confusion_matrix

    labels = list(classes)
    cm = confusion_matrix(y_true, y_pred, labels=labels, sample_weight=sample_weight)
    fig, ax = _figure()
    image = ax.imshow(cm, interpolation="nearest", cmap="viridis")
    fig.colorbar(image, ax=ax)
    fig.subplots_adjust(right=0.9)
    threshold = (cm.max() + cm.min()) / 2.0
    if len(labels) <= 20:
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                value = cm[i, j]
                text = f"{value:g}" if isinstance(value, float) else str(value)
                ax.text(j, i, text, ha="center", va="center", color="black" if value > threshold else "white")
    ticks = range(len(labels))
    ax.set_xticks(list(ticks), [str(c) for c in labels], rotation=45 if len(labels) > 5 else 0)
    ax.set_yticks(list(ticks), [str(c) for c in labels])
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title("Confusion matrix (training data)")
    return _png(fig)


def roc_curve_png(y_true: Any, score: Any, pos_label: Any, sample_weight: Any = None) -> bytes:
    """The ROC curve of a binary classifier, with its AUC, as PNG bytes."""
    from sklearn.metrics import auc, roc_curve

    fpr, tpr, _ = roc_curve(y_true, score, pos_label=pos_label, sample_weight=sample_weight)
    fig, ax = _figure()
    ax.plot(fpr, tpr, label=f"ROC curve (AUC = {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="Chance")
    ax.set_xlabel(f"False Positive Rate (Positive label: {pos_label})")
    ax.set_ylabel(f"True Positive Rate (Positive label: {pos_label})")
    ax.set_title("ROC curve (training data)")
    ax.legend(loc="lower right")
    return _png(fig)


def precision_recall_png(y_true: Any, score: Any, pos_label: Any, sample_weight: Any = None) -> bytes:
    """The precision-recall curve of a binary classifier, with its average precision, as PNG bytes."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    precision, recall, _ = precision_recall_curve(y_true, score, pos_label=pos_label, sample_weight=sample_weight)
    ap = average_precision_score(y_true, score, pos_label=pos_label, sample_weight=sample_weight)
    fig, ax = _figure()
    ax.step(recall, precision, where="post", label=f"AP = {ap:.3f}")
    ax.set_xlabel(f"Recall (Positive label: {pos_label})")
    ax.set_ylabel(f"Precision (Positive label: {pos_label})")
    ax.set_title("Precision-recall curve (training data)")
    ax.legend(loc="lower left")
    return _png(fig)


def _render(root: Any, y_true: Any, y_pred: Any, proba: Any, classes: Any, sample_weight: Any) -> None:
    try:
        write_bytes(root, CONFUSION_MATRIX, confusion_matrix_png(y_true, y_pred, classes, sample_weight))
        if proba is not None and len(classes) == 2:
            positive = classes[1]
            score = proba[:, 1]
            write_bytes(root, ROC_CURVE, roc_curve_png(y_true, score, positive, sample_weight))
            write_bytes(root, PRECISION_RECALL_CURVE, precision_recall_png(y_true, score, positive, sample_weight))
    except Exception as exc:
        report(exc, "drawing the classifier plots")


def submit(
    client: Any, run_id: str, est: Any, y: Any, predictions: dict[str, Any], sample_weight: Any, own_run: bool
) -> bool:
    """Queue the plots of a fitted classifier's run; ``False`` when there is nothing to plot.

    ``y`` and ``sample_weight`` are copied here, so changing them after ``fit`` returns does not change the plots.
    In a run autolog started for the fit (``own_run``), ending it does not wait for the plots, so ``fit`` returns
    as soon as the metrics and the model are in; reading the run's artifacts waits for them.
    """
    import numpy as np

    y_pred = predictions.get("y_pred")
    classes = getattr(est, "classes_", None)
    if y is None or y_pred is None or classes is None or np.ndim(classes) != 1 or len(classes) > _MAX_CLASSES:
        return False
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # plots are optional, as in MLflow
        return False
    y_true = np.array(y, copy=True)
    if y_true.ndim != 1:
        return False
    weights = None if sample_weight is None else np.array(sample_weight, copy=True)
    root = client.artifact_dir(run_id)
    proba = predictions.get("proba")
    pending.submit(run_id, lambda: _render(root, y_true, y_pred, proba, list(classes), weights), after_end=own_run)
    return True
