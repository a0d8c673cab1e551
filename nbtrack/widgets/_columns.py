"""Which params the runs table shows by default, and which ones it folds away.

A scikit-learn fit logs every constructor param, and a ``Pipeline`` adds its ``steps`` repr,
the repr of each step and every nested ``step__param``: a hundred columns of which a handful
tell runs apart. By default the table shows the params whose values differ among the shown
runs, leaves out estimator reprs (``StandardScaler()``, ``[('scaler', ...)]``), and caps
the count; the column chooser shows everything else on request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DEFAULT_MAX_PARAMS = 12
# sklearn Pipeline / ColumnTransformer bookkeeping params that hold reprs or flags nobody compares
PIPELINE_KEYS = frozenset(
    {"steps", "memory", "verbose", "transformers", "transformer_weights", "verbose_feature_names_out"}
)
_REPR = re.compile(r"^\[?\(?'?[A-Za-z_][\w.]*'?,?\s*[A-Z]\w*\(.*\)\)?\]?$|^[A-Z]\w*\(.*\)$", re.DOTALL)


def is_repr_value(value: str) -> bool:
    """Whether a param value is the repr of an estimator or a list of steps (``"LogisticRegression(C=2)"``)."""
    text = value.strip()
    if len(text) > 80:
        return True
    return bool(_REPR.match(text)) or (text.startswith("[(") and text.endswith(")]"))


def is_pipeline_param(key: str, values: Iterable[str]) -> bool:
    """Whether ``key`` is Pipeline bookkeeping (``steps``, ``memory``) or holds estimator reprs."""
    leaf = key.rsplit("__", 1)[-1]
    if key in PIPELINE_KEYS or (leaf in PIPELINE_KEYS and "__" in key):
        return True
    return any(is_repr_value(v) for v in values if isinstance(v, str))


def default_params(
    param_values: dict[str, set[str]],
    param_count: dict[str, int],
    n_rows: int,
    *,
    differing_only: bool = True,
    limit: int = DEFAULT_MAX_PARAMS,
) -> tuple[list[str], list[str]]:
    """Split the params of the shown runs into (shown by default, folded).

    Parameters
    ----------
    param_values : dict
        Param key → the set of values the shown runs have.
    param_count : dict
        Param key → how many shown runs have it.
    n_rows : int
        How many runs are shown.
    differing_only : bool
        Keep only params with more than one value among the runs that have them; with one run
        shown, every plain param is kept.
    limit : int
        At most this many shown params; the rest are folded.

    Returns
    -------
    tuple of lists
        Shown keys (varying, plain params first, then nested ``a__b`` ones, each sorted), and the
        folded keys (Pipeline bookkeeping, reprs, constant params, those over the limit).
    """
    shown: list[str] = []
    folded: list[str] = []
    for key in sorted(param_values):
        values = param_values[key]
        # a param that only some runs have (a parent lacks its children's params) but with one value
        # tells no runs apart either
        varies = len(values) > 1 or (param_count.get(key, 0) < n_rows and n_rows <= 1)
        if is_pipeline_param(key, values) or (differing_only and n_rows > 1 and not varies):
            folded.append(key)
        else:
            shown.append(key)
    shown.sort(key=lambda k: ("__" in k, k))
    if len(shown) > limit:
        folded = sorted([*folded, *shown[limit:]])
        shown = shown[:limit]
    return shown, folded
