"""Which types a model file may hold to load without ``trusted=``, and the checks that back that trust.

skops refuses, by default, every type it has not reviewed. A file whose SHA-256 matches the digest nbtrack recorded
when it wrote the file also loads the few extra types that scikit-learn's own fitted estimators hold (tree
structures, kernels, splitters, optimizers), listed one by one below. Nothing else is widened:

* every name is a full ``module.Class`` path, never a module prefix;
* a listed class is trusted only where skops rebuilds it as an object (``ObjectNode``, ``TreeNode``, ...), never
  where skops would *call* a named object with arguments from the file (``ConstructorFromReduceNode``,
  ``NdArrayNode``, ``MethodNode``, ...);
* functions are never trusted by the digest, except a handful of scikit-learn's pure scoring functions that fitted
  selectors and searches keep as references (``SelectKBest(score_func=f_classif)``); they load as references only
  (``FunctionNode``), nothing calls them while loading;
* the digest proves the file is the one nbtrack wrote, but anyone who can write the store can also write a digest
  tag, so the content of tree-shaped types is checked after loading (child indices, features, depth) before the
  model is handed out: scikit-learn indexes those arrays without bounds checks.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

from nbtrack.errors import InvalidModelFile

# Classes scikit-learn's fitted estimators hold that skops does not trust by default (skops 0.16), each reviewed:
# built with ``cls.__new__`` plus ``__setstate__``/``__dict__`` from the file; none runs code from its state.
REVIEWED_TYPES: frozenset[str] = frozenset(
    {
        "numpy.dtype",
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse._csc.csc_matrix",
        "scipy.sparse._csr.csr_array",
        "scipy.sparse._csc.csc_array",
        "sklearn._loss.loss.HalfTweedieLoss",
        "sklearn._loss.loss.HalfTweedieLossIdentity",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
        "sklearn.gaussian_process.kernels.ConstantKernel",
        "sklearn.gaussian_process.kernels.DotProduct",
        "sklearn.gaussian_process.kernels.ExpSineSquared",
        "sklearn.gaussian_process.kernels.Exponentiation",
        "sklearn.gaussian_process.kernels.Matern",
        "sklearn.gaussian_process.kernels.Product",
        "sklearn.gaussian_process.kernels.RBF",
        "sklearn.gaussian_process.kernels.RationalQuadratic",
        "sklearn.gaussian_process.kernels.Sum",
        "sklearn.gaussian_process.kernels.WhiteKernel",
        "sklearn.metrics._dist_metrics.ChebyshevDistance64",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.metrics._scorer._MultimetricScorer",
        "sklearn.metrics._scorer._PassthroughScorer",
        "sklearn.metrics._scorer._Scorer",
        "sklearn.model_selection._split.GroupKFold",
        "sklearn.model_selection._split.KFold",
        "sklearn.model_selection._split.LeaveOneOut",
        "sklearn.model_selection._split.RepeatedKFold",
        "sklearn.model_selection._split.RepeatedStratifiedKFold",
        "sklearn.model_selection._split.ShuffleSplit",
        "sklearn.model_selection._split.StratifiedKFold",
        "sklearn.model_selection._split.StratifiedShuffleSplit",
        "sklearn.model_selection._split.TimeSeriesSplit",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.tree._tree.Tree",
        "sklearn.utils._bunch.Bunch",
    }
)

# Pure numeric functions (arrays in, numbers out) that fitted estimators keep as references.
REVIEWED_FUNCTIONS: frozenset[str] = frozenset(
    {
        "numpy.mean",
        "sklearn.feature_selection._mutual_info.mutual_info_classif",
        "sklearn.feature_selection._mutual_info.mutual_info_regression",
        "sklearn.feature_selection._univariate_selection.chi2",
        "sklearn.feature_selection._univariate_selection.f_classif",
        "sklearn.feature_selection._univariate_selection.f_oneway",
        "sklearn.feature_selection._univariate_selection.f_regression",
        "sklearn.feature_selection._univariate_selection.r_regression",
        "sklearn.metrics._classification.accuracy_score",
        "sklearn.metrics._classification.balanced_accuracy_score",
        "sklearn.metrics._classification.f1_score",
        "sklearn.metrics._classification.log_loss",
        "sklearn.metrics._classification.precision_score",
        "sklearn.metrics._classification.recall_score",
        "sklearn.metrics._ranking.average_precision_score",
        "sklearn.metrics._ranking.roc_auc_score",
        "sklearn.metrics._regression.mean_absolute_error",
        "sklearn.metrics._regression.mean_squared_error",
        "sklearn.metrics._regression.r2_score",
        "sklearn.metrics._regression.root_mean_squared_error",
    }
)

# skops loaders that rebuild an object without calling anything named in the file with the file's arguments
# (``DictNode`` calls the class with no argument, then fills it like a dict: ``Bunch``).
_OBJECT_LOADERS = frozenset({"ObjectNode", "DictNode", "TreeNode", "DTypeNode", "SparseMatrixNode"})
_FUNCTION_LOADERS = frozenset({"FunctionNode"})


_MAX_UNPACKED = 64 << 20
_MAX_RATIO = 50


def read_schema(data: bytes, origin: str) -> dict[str, Any]:
    """Parse the ``schema.json`` of skops bytes.

    Raises
    ------
    InvalidModelFile
        Not a zip archive, no ``schema.json``, not JSON (too deep, truncated, ...), or a zip that unpacks to more
        than 50 times its size and 64 MiB (a zip bomb).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > _MAX_UNPACKED and unpacked > _MAX_RATIO * len(data):
                raise InvalidModelFile(
                    f"{origin} unpacks to {unpacked >> 20} MiB from {len(data) >> 10} KiB; refusing a skops file that "
                    "expands this much (nbtrack stores models uncompressed)."
                )
            raw = archive.read("schema.json")
        schema = json.loads(raw)
    except zipfile.BadZipFile:
        raise InvalidModelFile(
            f"{origin} is not a skops model file (not a zip archive); save models with nbtrack.sklearn.log_model."
        ) from None
    except KeyError:
        raise InvalidModelFile(f"{origin} is not a skops model file (it has no schema.json).") from None
    except (ValueError, RecursionError, OSError, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise InvalidModelFile(f"{origin} is a damaged skops file ({type(exc).__name__}: {exc}).") from None
    if not isinstance(schema, dict):
        raise InvalidModelFile(f"{origin} is a damaged skops file (schema.json is not an object).")
    return schema


def loader_uses(schema: dict[str, Any]) -> dict[str, set[str]]:
    """Map every ``module.Class`` named in a schema to the skops loaders that name it (iterative, any depth)."""
    uses: dict[str, set[str]] = {}
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            loader = node.get("__loader__")
            if isinstance(loader, str):
                name = f"{node.get('__module__')}.{node.get('__class__')}"
                uses.setdefault(name, set()).add(loader)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return uses


def widened(untrusted: list[str], schema: dict[str, Any]) -> set[str]:
    """The untrusted names a file nbtrack wrote may load: reviewed ones, used only by loaders that call nothing."""
    uses = loader_uses(schema)
    out: set[str] = set()
    for name in untrusted:
        loaders = uses.get(name)
        if not loaders:
            continue  # named in a form (a method, a reduce constructor) that the schema does not show as a node
        as_object = name in REVIEWED_TYPES and loaders <= _OBJECT_LOADERS
        as_reference = name in REVIEWED_FUNCTIONS and loaders <= _FUNCTION_LOADERS
        if as_object or as_reference:
            out.add(name)
    return out


# -- content checks of tree-shaped types --------------------------------------------------------------------------
def _walk(obj: Any) -> Iterator[tuple[Any, Any]]:
    """Yield ``(object, owning estimator)`` for everything reachable from a loaded model (iterative)."""
    seen: set[int] = set()
    stack: list[tuple[Any, Any]] = [(obj, None)]
    while stack:
        item, owner = stack.pop()
        if id(item) in seen or item is None or isinstance(item, (str, bytes, int, float, bool)):
            continue
        seen.add(id(item))
        yield item, owner
        if isinstance(item, dict):
            stack.extend((value, owner) for value in item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((value, owner) for value in item)
        elif type(item).__module__ == "numpy" and getattr(item, "dtype", None) is not None:
            if item.dtype == object:
                stack.extend((value, owner) for value in item.ravel().tolist())
        elif type(item).__module__.startswith("sklearn") and hasattr(item, "__dict__"):
            stack.extend((value, item) for value in vars(item).values())


def _bad(origin: str, what: str) -> InvalidModelFile:
    return InvalidModelFile(
        f"{origin} holds a malformed {what}; refusing to load it (the file was not written by scikit-learn). "
        "If you built it on purpose and trust it, pass trusted=True."
    )


def _check_children(origin: str, what: str, left: Any, right: Any, leaf: Any, count: int) -> Any:
    """Children of inner nodes come after their parent and inside the array, each node has one parent; return depths."""
    import numpy as np

    idx = np.arange(count)
    inner = ~leaf
    lc, rc = left[inner], right[inner]
    if (lc <= idx[inner]).any() or (rc <= idx[inner]).any() or (lc >= count).any() or (rc >= count).any():
        raise _bad(origin, what)
    children = np.concatenate([lc, rc])
    if children.size != count - 1 or np.unique(children).size != children.size:
        raise _bad(origin, what)
    depth = np.zeros(count, dtype=np.int64)
    parents = np.flatnonzero(inner)  # in index order: a parent's depth is final before its children are set
    for level_parents in _levels(parents, left, right, count):
        depth[left[level_parents]] = depth[level_parents] + 1
        depth[right[level_parents]] = depth[level_parents] + 1
    return depth


def _levels(parents: Any, left: Any, right: Any, count: int) -> Iterator[Any]:
    """Inner nodes level by level from the root (vectorised breadth-first walk)."""
    import numpy as np

    is_inner = np.zeros(count, dtype=bool)
    is_inner[parents] = True
    frontier = np.array([0]) if count and is_inner[0] else np.array([], dtype=np.int64)
    while frontier.size:
        yield frontier
        nxt = np.concatenate([left[frontier], right[frontier]])
        frontier = nxt[is_inner[nxt]]


def _check_tree(origin: str, tree: Any) -> None:
    import numpy as np

    state = tree.__getstate__()
    nodes = state["nodes"]
    count = int(state["node_count"])
    if count < 1 or len(nodes) != count:
        raise _bad(origin, "decision tree")
    left = nodes["left_child"].astype(np.int64)
    right = nodes["right_child"].astype(np.int64)
    leaf = left == -1
    if ((right == -1) != leaf).any():
        raise _bad(origin, "decision tree")
    feature = nodes["feature"][~leaf]
    if (feature < 0).any() or (feature >= int(tree.n_features)).any():
        raise _bad(origin, "decision tree")
    depth = _check_children(origin, "decision tree", left, right, leaf, count)
    if int(depth.max()) > int(state["max_depth"]):
        raise _bad(origin, "decision tree")


def _check_predictor(origin: str, predictor: Any, owner: Any) -> None:
    import numpy as np

    nodes = predictor.nodes
    count = len(nodes)
    if count < 1:
        raise _bad(origin, "gradient-boosting tree")
    leaf = nodes["is_leaf"].astype(bool)
    left = nodes["left"].astype(np.int64)
    right = nodes["right"].astype(np.int64)
    _check_children(origin, "gradient-boosting tree", left, right, leaf, count)
    n_features = getattr(owner, "n_features_in_", None)
    feature = nodes["feature_idx"][~leaf].astype(np.int64)
    if (feature < 0).any() or (n_features is not None and (feature >= int(n_features)).any()):
        raise _bad(origin, "gradient-boosting tree")
    categorical = nodes["is_categorical"].astype(bool) & ~leaf
    if categorical.any():
        flags = getattr(owner, "is_categorical_", None)
        bitsets = getattr(predictor, "raw_left_cat_bitsets", np.empty((0,)))
        used = nodes["feature_idx"][categorical].astype(np.int64)
        if flags is None or not np.asarray(flags)[used].all():
            raise _bad(origin, "gradient-boosting tree")
        if (nodes["bitset_idx"][categorical].astype(np.int64) >= len(bitsets)).any():
            raise _bad(origin, "gradient-boosting tree")


def _check_binary_tree(origin: str, tree: Any) -> None:
    import numpy as np

    data, idx_array, node_data, node_bounds = tree.get_arrays()
    n_samples = data.shape[0]
    n_nodes = len(node_data)
    what = "neighbours tree"
    if idx_array.shape != (n_samples,) or n_nodes < 1:
        raise _bad(origin, what)
    if n_samples and ((idx_array < 0).any() or (idx_array >= n_samples).any()):
        raise _bad(origin, what)
    start, end = node_data["idx_start"], node_data["idx_end"]
    if (start < 0).any() or (end < start).any() or (end > n_samples).any():
        raise _bad(origin, what)
    inner = np.flatnonzero(node_data["is_leaf"] == 0)
    if inner.size and (2 * inner + 2 >= n_nodes).any():
        raise _bad(origin, what)
    if node_bounds.ndim != 3 or node_bounds.shape[1] != n_nodes or node_bounds.shape[2] != data.shape[1]:
        raise _bad(origin, what)
    state = tree.__getstate__()
    metric = state[11]
    if int(state[5]) < 1 or n_nodes != 2 ** int(state[5]) - 1:
        raise _bad(origin, what)
    if f"{type(metric).__module__}.{type(metric).__name__}" not in REVIEWED_TYPES:
        raise _bad(origin, what)


def check_content(model: Any, names: set[str], origin: str) -> None:
    """Check the arrays of tree-shaped objects that loaded thanks to the digest (see the module docstring).

    Raises
    ------
    InvalidModelFile
        A tree's child indices, features or depth do not describe a tree scikit-learn could have built.
    """
    tree_types = {
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neighbors._kd_tree.KDTree",
    }
    if not names & tree_types:
        return
    try:
        for obj, owner in _walk(model):
            name = f"{type(obj).__module__}.{type(obj).__name__}"
            if name == "sklearn.tree._tree.Tree":
                _check_tree(origin, obj)
            elif name == "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor":
                _check_predictor(origin, obj, owner)
            elif name in ("sklearn.neighbors._ball_tree.BallTree", "sklearn.neighbors._kd_tree.KDTree"):
                _check_binary_tree(origin, obj)
    except InvalidModelFile:
        raise
    except Exception as exc:  # a field missing or of the wrong dtype: not a structure scikit-learn wrote
        raise _bad(origin, f"structure ({type(exc).__name__}: {exc})") from None
