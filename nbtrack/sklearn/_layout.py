"""The files beside a model that let MLflow's tooling use the folder: flavors, requirements, environments.

Also the pickle writers for ``serialization_format="pickle"`` / ``"cloudpickle"``.
"""

from __future__ import annotations

import platform
from typing import Any

from nbtrack.errors import InvalidParameter


def flavors(file_name: str, serialization_format: str, sklearn_version: str) -> dict[str, dict[str, Any]]:
    """MLflow's two flavors of a scikit-learn model, so MLflow's ``mlflow.sklearn``/``pyfunc`` load the folder."""
    return {
        "python_function": {
            "loader_module": "mlflow.sklearn",
            "model_path": file_name,
            "predict_fn": "predict",
            "python_version": platform.python_version(),
            "env": {"virtualenv": "python_env.yaml", "conda": "conda.yaml"},
        },
        "sklearn": {
            "pickled_model": file_name,
            "serialization_format": serialization_format,
            "sklearn_version": sklearn_version,
            "code": None,
        },
    }


def mlflow_version() -> str:
    from nbtrack.version import __version__

    return f"nbtrack-{__version__}"


def skops_version() -> str:
    try:
        import skops
    except ImportError:  # pragma: no cover - skops is in the sklearn extra
        return ""
    return str(getattr(skops, "__version__", ""))


def requirements(serialization_format: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    names = ["scikit-learn", "skops" if serialization_format == "skops" else serialization_format]
    lines = []
    for name in names:
        if name == "pickle":
            continue
        try:
            lines.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            lines.append(name)
    return "\n".join(lines) + "\n"


def python_env() -> str:
    """MLflow's ``python_env.yaml``: the Python version and the requirements file."""
    return f"python: {platform.python_version()}\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n"


def conda_env(requirements: str) -> str:
    """MLflow's ``conda.yaml`` with the same pins as ``requirements.txt``."""
    pins = "".join(f"  - {line}\n" for line in requirements.splitlines() if line)
    return (
        "channels:\n- conda-forge\ndependencies:\n"
        f"- python={platform.python_version()}\n- pip\n- pip:\n{pins}name: mlflow-env\n"
    )


def pickle(sk_model: Any, serialization_format: str) -> bytes:
    try:
        if serialization_format == "cloudpickle":
            import cloudpickle

            return bytes(cloudpickle.dumps(sk_model))
        import pickle

        return pickle.dumps(sk_model, protocol=pickle.HIGHEST_PROTOCOL)
    except ImportError as exc:
        raise InvalidParameter(
            "serialization_format='cloudpickle' needs cloudpickle: pip install cloudpickle."
        ) from exc
    except Exception as exc:
        raise InvalidParameter(f"Cannot {serialization_format} {type(sk_model).__name__}: {exc}") from exc
