"""``log_model`` and ``save_model``: the save side of the scikit-learn flavor (MLflow's signatures).

Both write the same folder: the model file (``model.skops``; ``model.pkl`` for ``serialization_format="pickle"``
or ``"cloudpickle"``), an ``MLmodel`` file in MLflow's layout, ``requirements.txt``, an input example when given, and
``nbtrack_model.json`` with the file's SHA-256 signed by the user's key.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.models import ModelInfo, ModelSignature
from nbtrack.sklearn import _models
from nbtrack.tracking import state as tracking

SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
_FORMATS = (SERIALIZATION_FORMAT_SKOPS, SERIALIZATION_FORMAT_PICKLE, SERIALIZATION_FORMAT_CLOUDPICKLE)


def check_format(serialization_format: Any, *, autolog: bool = False) -> str:
    """Validate a format name (``None`` is skops); autolog always writes skops and says so for the others.

    Raises
    ------
    InvalidParameter
        Not one of MLflow's format names.
    """
    if serialization_format is None:
        return SERIALIZATION_FORMAT_SKOPS
    if serialization_format not in _FORMATS:
        raise InvalidParameter(f"serialization_format must be one of {_FORMATS}, got {serialization_format!r}.")
    if autolog and serialization_format != SERIALIZATION_FORMAT_SKOPS:
        warnings.warn(
            f"nbtrack autolog saves models with skops, never {serialization_format}: a pickle runs code when loaded.",
            UserWarning,
            stacklevel=3,
        )
        return SERIALIZATION_FORMAT_SKOPS
    return str(serialization_format)


def _artifact_name(name: str | None, artifact_path: str | None) -> str:
    if name is not None and artifact_path is not None and name != artifact_path:
        raise InvalidParameter(f"Give either name or artifact_path, not both ({name!r} vs {artifact_path!r}).")
    path = name if name is not None else artifact_path if artifact_path is not None else "model"
    if not isinstance(path, str) or not path.strip("/"):
        raise InvalidParameter(f"The model name must be a non-empty string, got {path!r}.")
    return path


def _signatures(
    signature: Any, input_example: Any, sk_model: Any, trained_sig: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, ModelSignature | None]:
    """``(nbtrack's description, MLflow's ModelSignature)`` of what the model takes."""
    if signature is False:
        return None, None
    if isinstance(signature, ModelSignature):
        return signature.to_dict(), signature
    if isinstance(signature, dict):
        if "inputs" in signature:
            return signature, ModelSignature.from_dict(signature)
        return signature, None
    if signature is not None:
        to_dict = getattr(signature, "to_dict", None)  # an MLflow ModelSignature
        if callable(to_dict):
            as_dict = dict(to_dict())
            return as_dict, ModelSignature.from_dict(as_dict)
        raise InvalidParameter(
            f"signature must be a ModelSignature (nbtrack.models.infer_signature), got {signature!r}."
        )
    if input_example is not None:
        from nbtrack.models import infer_signature

        output = None
        try:
            output = sk_model.predict(input_example[:5] if not hasattr(input_example, "head") else input_example.head())
        except Exception:  # the example alone still gives the input schema
            output = None
        return _models.signature_of(input_example), infer_signature(input_example, output)
    return trained_sig, None


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: Any = None,
    serialization_format: str | None = SERIALIZATION_FORMAT_SKOPS,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    await_registration_for: int | None = 300,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    **_mlflow_options: Any,
) -> ModelInfo:
    """Save a fitted estimator into the active run (one is started if none is active); MLflow's signature.

    Parameters
    ----------
    sk_model : estimator
        The fitted scikit-learn estimator (or pipeline).
    artifact_path : str, optional
        Artifact folder, ``"model"`` by default (MLflow 3's ``name=`` is the same thing).
    conda_env, code_paths, await_registration_for, pip_requirements, extra_pip_requirements, pyfunc_predict_fn
        Accepted for MLflow compatibility; ``requirements.txt`` lists scikit-learn and the serializer.
    serialization_format : str
        ``"skops"`` (default); ``"pickle"`` / ``"cloudpickle"`` are written as asked, and then load only with
        ``trusted=True`` (a pickle runs code when loaded).
    registered_model_name : str, optional
        Also register the model under this name (a new version whose source is ``runs:/<run_id>/<name>``).
    signature : ModelSignature, optional
        From :func:`nbtrack.models.infer_signature`; by default inferred from ``input_example`` or from the data
        the estimator was fitted on under autolog. ``False`` records none.
    input_example : array-like, optional
        A few input rows, stored beside the model.
    metadata : dict, optional
        Free metadata written into ``MLmodel``.
    name : str, optional
        Alias of ``artifact_path``.

    Returns
    -------
    ModelInfo
        ``model_uri`` is ``runs:/<run_id>/<name>``; ``flavors`` holds ``python_function`` and ``sklearn``.

    Raises
    ------
    InvalidParameter
        Bad name, unsupported format, or the object cannot be saved.
    """
    from nbtrack.sklearn._fit import trained_on
    from nbtrack.tracking import fluent

    path = _artifact_name(name, artifact_path)
    fmt = check_format(serialization_format)
    if registered_model_name is not None and (not isinstance(registered_model_name, str) or not registered_model_name):
        raise InvalidParameter("registered_model_name must be a non-empty string.")
    train, trained_sig = trained_on(sk_model)
    description, model_signature = _signatures(signature, input_example, sk_model, trained_sig)
    client = tracking.get_client()
    run_id = fluent.run_id_for_logging()
    return _models.log_to_run(
        client,
        run_id,
        sk_model,
        path,
        train=train,
        input_example=input_example,
        registered_model_name=registered_model_name,
        signature=description,
        model_signature=model_signature,
        serialization_format=fmt,
        metadata=metadata,
    )


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: Any = None,
    mlflow_model: Any = None,
    serialization_format: str | None = SERIALIZATION_FORMAT_SKOPS,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    **_mlflow_options: Any,
) -> None:
    """Save a fitted estimator to a local folder that :func:`~nbtrack.sklearn.load_model` reads back as is.

    The folder holds the model file, ``MLmodel`` (MLflow's layout) and ``nbtrack_model.json``, whose SHA-256 of
    the file is signed with the user's key: ``load_model(path)`` then trusts the file's scikit-learn, NumPy and
    SciPy types without ``trusted=``, as for a model logged into a run. A file edited afterwards, a folder from
    someone else, or a pickle still needs ``trusted=...``.

    Parameters
    ----------
    sk_model : estimator
        The fitted estimator.
    path : str or path-like
        A new (or empty) folder.
    serialization_format : str
        ``"skops"`` (default), ``"pickle"`` or ``"cloudpickle"``.
    signature, input_example, metadata
        As for :func:`log_model`.
    conda_env, code_paths, mlflow_model, pip_requirements, extra_pip_requirements, pyfunc_predict_fn
        Accepted for MLflow compatibility.

    Raises
    ------
    InvalidParameter
        The folder exists and is not empty, or the object cannot be saved.
    """
    from nbtrack.sklearn._fit import trained_on

    fmt = check_format(serialization_format)
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidParameter(f"Path '{folder}' already exists and is not empty; pick a new folder.")
    train, trained_sig = trained_on(sk_model)
    description, model_signature = _signatures(signature, input_example, sk_model, trained_sig)
    _models.write_model(
        sk_model,
        folder,
        signature=description,
        training_data=_models.training_info(train),
        input_example=input_example,
        model_signature=model_signature,
        serialization_format=fmt,
        metadata=metadata,
    )
