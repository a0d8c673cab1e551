"""MLflow's ``mlflow.pyfunc`` for the models nbtrack logs: ``load_model(uri).predict(data)``.

::

    model = nbtrack.pyfunc.load_model("models:/Churn@champion")
    model.predict(X_test)          # input checked against the model's signature first

Loading follows :func:`nbtrack.sklearn.load_model`'s trust rules (``trusted=`` is passed through).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.models import Model, enforce_schema

__all__ = ["FLAVOR_NAME", "PyFuncModel", "get_model_dependencies", "load_model"]

FLAVOR_NAME = "python_function"


class PyFuncModel:
    """A loaded model with MLflow's generic interface: :meth:`predict`, :attr:`metadata`.

    Parameters
    ----------
    model : estimator
        The underlying model.
    metadata : Model
        Its ``MLmodel`` description (flavors, signature).
    predict_fn : str
        The method :meth:`predict` calls (``"predict"`` unless the model was logged with another).
    """

    def __init__(self, model: Any, metadata: Model, predict_fn: str = "predict") -> None:
        self._model = model
        self._metadata = metadata
        self._predict_fn = predict_fn

    @property
    def metadata(self) -> Model:
        """The model's ``MLmodel`` description."""
        return self._metadata

    @property
    def loader_module(self) -> str:
        """The flavor that loaded the model."""
        return "nbtrack.sklearn"

    def get_raw_model(self) -> Any:
        """The underlying estimator."""
        return self._model

    def unwrap_python_model(self) -> Any:
        """MLflow's name of :meth:`get_raw_model` for python models."""
        return self._model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict, after checking and converting ``data`` against the model's input signature.

        Parameters
        ----------
        data : DataFrame, ndarray, dict or list
            Model input. Columns are matched by name: missing required ones raise, extra ones are dropped,
            integers widen to floats.
        params : dict, optional
            Accepted for MLflow compatibility; scikit-learn models take no inference parameters.

        Returns
        -------
        The model's prediction (a numpy array for scikit-learn models).

        Raises
        ------
        InvalidParameter
            The input does not fit the signature ("Failed to enforce schema of data ...").
        """
        schema = self._metadata.get_input_schema()
        if isinstance(data, list) and data and isinstance(data[0], dict):
            import pandas as pd

            data = pd.DataFrame(data)
        checked = enforce_schema(data, schema)
        method = getattr(self._model, self._predict_fn, None)
        if not callable(method):
            raise InvalidParameter(f"The model has no method {self._predict_fn!r} to predict with.")
        return method(checked)

    def __repr__(self) -> str:
        flavors = ", ".join(self._metadata.flavors) or "sklearn"
        run = f"\n  run_id: {self._metadata.run_id}" if self._metadata.run_id else ""
        return f"mlflow.pyfunc.loaded_model:\n  artifact_path: {self._metadata.artifact_path}\n  flavor: {flavors}{run}"


def _metadata_of(model_uri: str) -> Model:
    from nbtrack.tracking import state
    from nbtrack.tracking.model_uri import resolve_model_uri

    resolved = resolve_model_uri(model_uri, state.get_client())
    folder = Path(resolved.local_path)
    try:
        return Model.load(folder)
    except NotFound:
        return Model(artifact_path=resolved.artifact_path or None, run_id=resolved.run_id)


def load_model(
    model_uri: str, suppress_warnings: bool = False, dst_path: str | None = None, *, trusted: Any = None, **_: Any
) -> PyFuncModel:
    """Load a model logged or saved by nbtrack as a :class:`PyFuncModel`.

    Parameters
    ----------
    model_uri : str
        ``runs:/<run_id>/<path>``, ``models:/<name>/<version|stage|latest>``, ``models:/<name>@<alias>`` or a
        local folder.
    suppress_warnings : bool
        Accepted for MLflow compatibility.
    dst_path : str, optional
        Accepted for MLflow compatibility (files are read in place).
    trusted : bool or list of str, optional
        As for :func:`nbtrack.sklearn.load_model`.

    Returns
    -------
    PyFuncModel

    Raises
    ------
    UntrustedModel
        The file holds types that are not trusted.
    NotFound
        No model at that URI.
    """
    from nbtrack.sklearn import load_model as load_sklearn

    estimator = load_sklearn(model_uri, trusted=trusted)
    metadata = _metadata_of(model_uri)
    fn = metadata.flavors.get(FLAVOR_NAME, {}).get("predict_fn") or "predict"
    return PyFuncModel(estimator, metadata, str(fn))


def get_model_dependencies(model_uri: str, format: str = "pip") -> str:
    """The path of the model's ``requirements.txt``.

    Raises
    ------
    NotFound
        The model folder lists no requirements.
    """
    from nbtrack.tracking import state
    from nbtrack.tracking.model_uri import resolve_model_uri

    folder = Path(resolve_model_uri(model_uri, state.get_client()).local_path)
    path = folder / "requirements.txt"
    if not path.is_file():
        raise NotFound(f"No requirements.txt in the model at {model_uri!r}.")
    return str(path)
