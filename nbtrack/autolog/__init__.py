"""Automatic logging of scikit-learn fits; the public entry points live in :mod:`nbtrack.sklearn`.

``nbtrack.autolog`` is this package, and calling it turns on autolog as in
MLflow's ``mlflow.autolog()``: ``nbtrack.autolog()`` is
``nbtrack.sklearn.autolog()``.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> None:
        """Turn on (or off with ``disable=True``) sklearn autolog; see :func:`nbtrack.sklearn.autolog`."""
        from nbtrack.sklearn import autolog

        autolog(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
