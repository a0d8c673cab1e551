"""Which cells scikit-learn autolog acts in when ``%%track`` switched it on."""

from __future__ import annotations

import importlib
import sys
from contextlib import nullcontext
from typing import Any

from nbtrack import autolog


class AutologScope:
    """Turns scikit-learn autolog on for ``%%track`` cells only.

    The first cell that may fit a model (scikit-learn imported, or named in the
    cell) enables ``nbtrack.sklearn.autolog(silent=True)`` unless autolog is on
    already; from then on cells without ``%%track`` run inside
    ``autolog_suspended()``, so only tracked cells log. If the user calls
    ``autolog(...)`` themselves, their configuration replaces the magic's and
    plain cells log again, as they asked. ``--no-autolog`` runs the cell inside
    ``autolog_suspended()``.
    """

    def __init__(self) -> None:
        self._owned: Any = None  # the autolog configuration this magic switched on, if any
        self._suspension: Any = None
        self._missing = False

    def _module(self) -> Any:
        if self._missing:
            return None
        try:
            module = importlib.import_module("nbtrack.sklearn")
        except ImportError:
            self._missing = True  # not installed with scikit-learn support; don't search again every cell
            return None
        return module if hasattr(module, "autolog") else None

    @staticmethod
    def _config() -> Any:
        """The active autolog configuration object (``None`` when autolog is off)."""
        state = getattr(sys.modules.get("nbtrack.autolog.state"), "state", None)
        return getattr(state, "config", None)

    def scope(self, enabled: bool, source: str) -> Any:
        """The context manager to run a tracked cell in."""
        if not enabled:
            return autolog.suspended()
        if self._owned is not None and self._config() is not self._owned:
            self._owned = None  # the user called autolog() since: their settings rule from now on
        if self._owned is None and ("sklearn" in sys.modules or "sklearn" in source):
            module = self._module()
            if module is not None and self._config() is None:
                module.autolog(silent=True)
                self._owned = self._config()
        return nullcontext()

    def pre_run_cell(self, info: Any) -> None:
        """Suspend the magic's autolog in cells without ``%%track``."""
        if self._owned is None or self._suspension is not None:
            return
        if self._config() is not self._owned:
            self._owned = None
            return
        if (getattr(info, "raw_cell", "") or "").lstrip().startswith("%%track"):
            return
        self._suspension = autolog.suspended()
        self._suspension.__enter__()

    def post_run_cell(self, result: Any) -> None:
        """End the suspension started in :meth:`pre_run_cell`."""
        suspension, self._suspension = self._suspension, None
        if suspension is not None:
            suspension.__exit__(None, None, None)
