"""Automatic logging, generic part: the active configuration, suspension, safety and dataset fingerprints.

Flavors build on it: :mod:`nbtrack.sklearn` patches scikit-learn's ``fit`` and friends. ``nbtrack.autolog`` is this
package, and calling it turns autolog on for every installed flavor, as MLflow's ``mlflow.autolog()`` does:
``nbtrack.autolog()`` is ``nbtrack.sklearn.autolog()`` today.

* :func:`active_config`: the options of the last ``autolog()`` call, or ``None`` when autolog is off.
* :func:`suspended`: a ``with`` block in which no fit logs (``%%track --no-autolog``).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nbtrack.autolog.state import Config, state

__all__ = ["FLAVORS", "Config", "active_config", "suspended"]

#: Flavor name → the module whose ``autolog(...)`` turns it on (imported only when autolog is called).
FLAVORS = {"sklearn": "nbtrack.sklearn"}


def active_config() -> Config | None:
    """The configuration of the last ``autolog()`` call, or ``None`` when autolog is off.

    Returns
    -------
    Config or None
    """
    return state.config


@contextmanager
def suspended() -> Iterator[None]:
    """Turn autolog off within a ``with`` block (a no-op when autolog is off); fits inside log nothing.

    Yields
    ------
    None
    """
    state.suspended += 1
    try:
        yield
    finally:
        state.suspended -= 1


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> None:
        """Turn on (or off with ``disable=True``) autolog for every flavor; see :func:`nbtrack.sklearn.autolog`."""
        for module in FLAVORS.values():
            importlib.import_module(module).autolog(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
