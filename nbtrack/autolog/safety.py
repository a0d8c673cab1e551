"""Keep autolog from ever breaking the user's code (MLflow's ``safe_patch`` idea).

Errors raised by nbtrack's own logging code become a warning; the user's call
still returns its result. Under ``NBTRACK_TESTING=true`` they are re-raised so
that the test suite sees them.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger("nbtrack.autolog")

F = TypeVar("F", bound=Callable[..., Any])


def is_testing() -> bool:
    """Return whether ``NBTRACK_TESTING`` asks for errors in patch code to be raised."""
    return os.environ.get("NBTRACK_TESTING", "").strip().lower() in ("1", "true", "yes")


def report(exc: BaseException, what: str) -> None:
    """Re-raise ``exc`` when testing, else warn that ``what`` failed and carry on."""
    if is_testing():
        raise exc
    from nbtrack.autolog.state import state

    message = f"nbtrack autolog: {what} failed and was skipped ({type(exc).__name__}: {exc})."
    logger.warning(message)
    if state.config is None or not state.config.silent:
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def exception_safe(what: str) -> Callable[[F], F]:
    """Decorate nbtrack-internal logging code so that its errors only warn.

    Parameters
    ----------
    what : str
        Short description used in the warning, e.g. ``"logging training metrics"``.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                report(exc, what)
                return None

        return wrapper  # type: ignore[return-value]

    return decorate
