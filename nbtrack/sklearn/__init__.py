"""scikit-learn integration: ``autolog()`` and logging/loading models (MLflow's ``mlflow.sklearn`` names).

::

    import nbtrack.sklearn
    nbtrack.sklearn.autolog()
    LogisticRegression().fit(X_train, y_train)      # one run: params, metrics, dataset, model

    model = nbtrack.sklearn.load_model(f"runs:/{run_id}/model")

Models are saved with skops (``serialization_format="pickle"`` / ``"cloudpickle"``
on request); a model nbtrack wrote, into a run or with ``save_model`` to a folder,
loads with no extra argument, while a file changed since, from elsewhere, or any
pickle, needs ``trusted=...`` (see :func:`load_model`).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from nbtrack.autolog import datasets as _datasets
from nbtrack.autolog import suspended as autolog_suspended  # public here too, under its name of old
from nbtrack.autolog.state import Config, state
from nbtrack.errors import InvalidParameter
from nbtrack.models import ModelInfo
from nbtrack.sklearn import _models, _patching, _post_training
from nbtrack.sklearn._save import (
    SERIALIZATION_FORMAT_CLOUDPICKLE,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_SKOPS,
    check_format,
    log_model,
    save_model,
)
from nbtrack.tracking import state as tracking

FLAVOR_NAME = "sklearn"
SUPPORTED_SERIALIZATION_FORMATS = [
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
]
_CV_FUNCTIONS = (
    "cross_validate",
    "cross_val_predict",
    "cross_val_score",
    "learning_curve",
    "permutation_test_score",
    "validation_curve",
)
_CV_HELPERS = ("_fit_and_score", "_fit_and_predict", "_permutation_test_score", "_incremental_fit_estimator")

__all__ = [
    "FLAVOR_NAME",
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "SUPPORTED_SERIALIZATION_FORMATS",
    "ModelInfo",
    "autolog",
    "autolog_suspended",
    "load_model",
    "log_model",
    "save_model",
]


@functools.cache
def _targets() -> tuple[type, ...]:
    return tuple(_patching.estimators_to_patch())


def _suspending(func: Any) -> Any:
    from nbtrack.sklearn._fit import suspend_logic

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return suspend_logic(func, args, kwargs)

    return wrapper


def _apply_patches(post_training: bool) -> None:
    import sklearn.metrics
    import sklearn.model_selection
    from sklearn.model_selection import _validation

    from nbtrack.sklearn._fit import fit_logic

    targets = _targets()
    _patching.patch_classes(targets, _patching.FIT_METHODS, fit_logic)
    if post_training:
        _patching.patch_classes(targets, _patching.PREDICT_METHODS, _post_training.predict_logic)
        _patching.patch_classes(targets, ("score",), _post_training.score_logic)
        for name in _post_training.metric_names():
            _patching.patch_attribute(sklearn.metrics, name, _post_training.wrap_metric(getattr(sklearn.metrics, name)))
    for module in (sklearn.model_selection, _validation):
        for name in _CV_FUNCTIONS:
            if name in vars(module):
                _patching.patch_attribute(module, name, _suspending(getattr(module, name)))
    for name in _CV_HELPERS:
        if name in vars(_validation):
            _patching.patch_attribute(_validation, name, _suspending(getattr(_validation, name)))


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "skops",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Log every scikit-learn fit as MLflow's ``mlflow.sklearn.autolog()`` does.

    Each top-level ``fit`` / ``fit_transform`` / ``fit_predict`` logs
    ``get_params(deep=True)`` as params, the tags ``estimator_name`` and
    ``estimator_class``, training metrics (``training_accuracy_score``... for
    classifiers, ``training_mean_squared_error``... for regressors, and
    ``training_score``), the training data as a dataset input (context
    ``train``) and the fitted model under ``model`` (for a search: the search, with its best estimator
    under ``best_estimator``). Classifiers also get ``training_confusion_matrix.png`` and, when binary,
    ``training_roc_curve.png`` and ``training_precision_recall_curve.png``, drawn in the background after
    ``fit`` returns (reading the run's artifacts waits for them). Without an active run the
    fit gets its own run (FINISHED, or FAILED if ``fit`` raised); inside an
    active run it logs there, and a second fit in the same run goes to a nested
    child run. Fits inside Pipelines, searches and cross-validation helpers never
    create runs.

    Parameters
    ----------
    log_input_examples : bool
        Store the first rows of the training data beside the model.
    log_model_signatures : bool
        Record the input signature (columns, dtypes, shape) beside the model.
    log_models : bool
        Log the fitted model (skops) as the artifact ``model``.
    log_datasets : bool
        Record the training (and evaluation) data fingerprints.
    disable : bool
        Remove every patch, restoring the original methods exactly.
    exclusive : bool
        Do not log into runs the user started; only into autolog's own runs.
    disable_for_unsupported_versions : bool
        Accepted for MLflow compatibility.
    silent : bool
        No messages (e.g. how many search candidates got no child run).
    max_tuning_runs : int or None
        Child runs for the best candidates of a parameter search; ``None`` = all.
    log_post_training_metrics : bool
        Log ``sklearn.metrics`` calls and ``model.score`` on a logged model's
        predictions into its run as ``{metric}_{dataset variable}``.
    serialization_format : str
        ``"skops"``; MLflow's ``"pickle"`` / ``"cloudpickle"`` are accepted with a
        warning, and skops is used anyway: models are never pickled.
    registered_model_name : str, optional
        Register every logged model under this name.
    pos_label : optional
        Positive label for binary precision/recall/f1 (then ``average="binary"``).
    extra_tags : dict, optional
        Tags added to every run autolog writes to.

    Raises
    ------
    InvalidParameter
        Bad option values.
    """
    if max_tuning_runs is not None and (
        isinstance(max_tuning_runs, bool) or not isinstance(max_tuning_runs, int) or max_tuning_runs < 0
    ):
        raise InvalidParameter(f"max_tuning_runs must be None or a non-negative integer, got {max_tuning_runs!r}.")
    if extra_tags is not None and not isinstance(extra_tags, dict):
        raise InvalidParameter(f"extra_tags must be a dict, got {type(extra_tags).__name__}.")
    check_format(serialization_format, autolog=True)
    if registered_model_name is not None and (not isinstance(registered_model_name, str) or not registered_model_name):
        raise InvalidParameter("registered_model_name must be a non-empty string.")
    _patching.unpatch_all()
    state.config = None
    if disable:
        return
    cfg = Config(
        log_models=bool(log_models),
        log_datasets=bool(log_datasets),
        log_post_training_metrics=bool(log_post_training_metrics),
        max_tuning_runs=max_tuning_runs,
        exclusive=bool(exclusive),
        silent=bool(silent),
        registered_model_name=registered_model_name,
        extra_tags={str(k): str(val) for k, val in (extra_tags or {}).items()},
        log_input_examples=bool(log_input_examples),
        log_model_signatures=bool(log_model_signatures),
        pos_label=pos_label,
    )
    try:
        _apply_patches(cfg.log_post_training_metrics)
    except BaseException:
        _patching.unpatch_all()
        raise
    state.pid = os.getpid()
    state.config = cfg
    _record_lineage()


def _record_lineage() -> None:
    """In an IPython shell, record the cells run from now on, so that autologged runs get their code slice."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    try:
        from nbtrack.lineage.recorder import install

        install(shell)
    except Exception as exc:  # lineage is a bonus: autolog works without it
        logging.getLogger("nbtrack").warning("nbtrack could not record the notebook's cells: %s", exc)


def _resolve(model_uri: str, client: Any) -> tuple[Path, str | None, str]:
    """``(local folder, run id or None, artifact path)`` of a model URI."""
    from nbtrack.tracking.model_uri import resolve_model_uri

    resolved = resolve_model_uri(model_uri, client)
    return Path(resolved.local_path), resolved.run_id, resolved.artifact_path


def load_model(
    model_uri: str,
    dst_path: str | None = None,
    *,
    trusted: bool | list[str] | None = None,
    check_data: Any = None,
) -> Any:
    """Load a model logged by :func:`log_model` / autolog or saved by :func:`save_model`.

    Parameters
    ----------
    model_uri : str
        ``runs:/<run_id>/<path>``, ``models:/<name>/<version|stage|latest>``,
        ``models:/<name>@<alias>`` or a local folder.
    dst_path : str, optional
        Accepted for MLflow compatibility (the file is read in place).
    trusted : bool or list of str, optional
        Without it, the file loads only if its SHA-256 matches the digest the
        store recorded when nbtrack wrote it, and then skops' defaults plus a
        reviewed list of scikit-learn types (trees, kernels, splitters) are
        trusted, never a function or anything called while loading. A file changed since, or from outside the
        store (e.g. :func:`save_model`), needs ``trusted=[type names]`` or
        ``trusted=True`` (every type); so does any other type, such as a
        user-defined class.
    check_data : tuple (X, y), optional
        Data to compare with the fingerprint recorded at training; a
        ``UserWarning`` says when it differs.

    Returns
    -------
    estimator

    Raises
    ------
    UntrustedModel
        The file holds untrusted types; the message lists them and why.
    InvalidModelFile
        The file is not a skops file or is damaged.
    NotFound
        No model at that URI.
    InvalidParameter
        Malformed URI or arguments.
    """
    if not isinstance(model_uri, str) or not model_uri:
        raise InvalidParameter(f"model_uri must be a non-empty string, got {model_uri!r}.")
    if check_data is not None and not (isinstance(check_data, (tuple, list)) and len(check_data) == 2):
        raise InvalidParameter("check_data must be a pair (X, y); use (X, None) for unsupervised models.")
    client = tracking.get_client()
    local, run_id, artifact_path = _resolve(model_uri, client)
    path = _models.model_file(local)
    expected = None
    if run_id is not None:
        expected = client.get_run(run_id).data.tags.get(_models.digest_tag(artifact_path))
    if expected is None:  # a folder outside the store: the digest nbtrack signed beside the file, if any
        expected = _models.signed_digest(path.parent)
    if path.name == _models.PICKLE_FILE:
        from nbtrack.sklearn._pickled import load_pickled

        model = load_pickled(path, origin=model_uri, trusted=trusted)
    else:
        model = _models.load_file(path, expected_sha256=expected, origin=model_uri, trusted=trusted)
    if check_data is not None:
        meta = _models.read_meta(path.parent)
        recorded = (meta.get("training_data") or {}).get("digest")
        given = _datasets.digest(check_data[0], check_data[1])
        if recorded is None:
            warnings.warn(
                f"Model {model_uri!r} has no training-data fingerprint to compare with.", UserWarning, stacklevel=2
            )
        elif recorded != given:
            warnings.warn(
                f"The data given to check_data (digest {given}) differs from the data model {model_uri!r} was "
                f"trained on (digest {recorded}).",
                UserWarning,
                stacklevel=2,
            )
    return model
