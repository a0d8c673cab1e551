"""Class-level patches of scikit-learn methods, recorded so that they can be undone exactly.

Each patch is set on one class; the class's previous ``__dict__`` entry (or its
absence) is remembered, and :func:`unpatch_all` puts it back, so after
``autolog(disable=True)`` ``LogisticRegression.__dict__["fit"]`` is the very
function it was before. Methods that a target class inherits from another target
class are not patched again on the subclass, so a parent's patch never runs twice.
Descriptors such as ``available_if`` keep their behaviour: ``hasattr`` still
answers as before.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

_MISSING = object()
FIT_METHODS = ("fit", "fit_transform", "fit_predict")
PREDICT_METHODS = ("predict", "predict_proba", "transform", "predict_log_proba")
EXCLUDED_MODULES = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)
EXCLUDED_CLASSES = ("sklearn.compose._column_transformer.ColumnTransformer",)

# Logic signature: (self, call, args, kwargs) -> result, where call(*args, **kwargs) runs the original.
Logic = Callable[[Any, Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]


@dataclass
class _Patch:
    owner: Any
    name: str
    previous: Any


_patches: list[_Patch] = []
_lock = threading.RLock()


def is_excluded(cls: type) -> bool:
    """Whether autolog leaves ``cls`` alone (data preparation rather than a model)."""
    module = cls.__module__
    return module.startswith(EXCLUDED_MODULES) or f"{module}.{cls.__name__}" in EXCLUDED_CLASSES


def estimators_to_patch() -> list[type]:
    """MLflow's list: ``all_estimators()`` plus search CV and Pipeline, minus data preparation."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    classes = {cls for _, cls in all_estimators()} | {GridSearchCV, RandomizedSearchCV, Pipeline}
    return sorted((c for c in classes if not is_excluded(c)), key=lambda c: f"{c.__module__}.{c.__qualname__}")


class _PatchedDescriptor:
    """Wraps a descriptor (e.g. ``available_if``) so that availability checks still apply."""

    def __init__(self, inner: Any, logic: Logic) -> None:
        self.inner = inner
        self.logic = logic
        functools.update_wrapper(self, getattr(inner, "fn", inner), updated=())  # type: ignore[arg-type]

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        bound = self.inner.__get__(obj, owner)  # raises AttributeError when unavailable
        if obj is None:
            return bound
        logic = self.logic

        @functools.wraps(bound)
        def method(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True  # IPython leaves this frame out of the user's traceback
            return logic(obj, bound, args, kwargs)

        return method


def _wrap(raw: Any, logic: Logic) -> Any:
    if isinstance(raw, (staticmethod, classmethod)):
        return None
    if callable(raw) and hasattr(raw, "__get__") and type(raw).__name__ == "function":
        func = raw

        @functools.wraps(func)
        def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True  # IPython leaves this frame out of the user's traceback
            return logic(self, func.__get__(self, type(self)), args, kwargs)

        patched.__nbtrack_patch__ = True  # type: ignore[attr-defined]
        return patched
    if hasattr(raw, "__get__"):
        return _PatchedDescriptor(raw, logic)
    return None


def patch_classes(classes: Iterable[type], names: Iterable[str], logic: Logic) -> None:
    """Patch ``names`` on each class (or the target ancestor that defines them) with ``logic``."""
    targets = list(classes)
    target_set = set(targets)
    names = tuple(names)
    done = {(p.owner, p.name) for p in _patches}
    with _lock:
        for cls in targets:
            for name in names:
                defining = next((k for k in cls.__mro__ if name in k.__dict__), None)
                if defining is None or defining is object:
                    continue
                owner = defining if defining in target_set else cls
                if (owner, name) in done:
                    continue
                wrapped = _wrap(defining.__dict__[name], logic)
                if wrapped is None:
                    continue
                _patches.append(_Patch(owner, name, owner.__dict__.get(name, _MISSING)))
                setattr(owner, name, wrapped)
                done.add((owner, name))


def patch_attribute(owner: Any, name: str, replacement: Any) -> None:
    """Replace a module or object attribute, remembering the previous value."""
    with _lock:
        if not hasattr(owner, name):
            return
        previous = owner.__dict__.get(name, _MISSING) if hasattr(owner, "__dict__") else getattr(owner, name)
        _patches.append(_Patch(owner, name, previous))
        setattr(owner, name, replacement)


def unpatch_all() -> None:
    """Undo every patch, newest first, restoring the exact previous objects."""
    with _lock:
        while _patches:
            p = _patches.pop()
            if p.previous is _MISSING:
                try:
                    delattr(p.owner, p.name)
                except AttributeError:
                    pass
            else:
                setattr(p.owner, p.name, p.previous)


def is_patched() -> bool:
    """Whether any patch is in place."""
    return bool(_patches)
