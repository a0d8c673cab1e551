"""What autolog reads off an estimator: whether it is a hyper-parameter search, its tags and its params as MLflow logs them."""

from __future__ import annotations

from typing import Any

from nbtrack import _validation as v
from nbtrack.entities import Param


def is_search(est: Any) -> bool:
    """Whether ``est`` is a GridSearchCV / RandomizedSearchCV."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    return isinstance(est, (GridSearchCV, RandomizedSearchCV))


def estimator_tags(est: Any) -> dict[str, str]:
    """MLflow's ``estimator_name`` and ``estimator_class`` tags."""
    cls = type(est)
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}


def param_list(params: dict[str, Any]) -> list[Param]:
    """Params as MLflow logs them: ``str(value)``, keys and values cut to the allowed lengths."""
    out = []
    for key, value in params.items():
        text = v.stringify(value)
        out.append(Param(str(key)[: v.MAX_KEY_LENGTH], text[: v.MAX_PARAM_VALUE_LENGTH]))
    return out
