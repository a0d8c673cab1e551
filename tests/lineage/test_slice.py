"""The minimal slice of an execution: which earlier executions it needs, in execution order."""

from __future__ import annotations

from nbtrack.lineage.session import Session, slice_source


def _session(*cells: tuple[str, str]) -> Session:
    """Record ``(cell id, source)`` executions with counts 1, 2, ..."""
    session = Session()
    for count, (cell_id, source) in enumerate(cells, start=1):
        session.record(source, count, cell_id)
    return session


def _counts(session: Session, index: int = -1) -> list[int | None]:
    target = session.executions[index]
    return [e.count for e in session.slice(target).executions]


def test_exploratory_cells_stay_out() -> None:
    session = _session(
        ("imports", "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression"),
        ("load", "df = pd.DataFrame({'a': [1, 2, 3], 'y': [0, 1, 0]})"),
        ("peek", "df.head()"),
        ("describe", "df.describe()\nprint(df.shape)"),
        ("plot", "import matplotlib.pyplot as plt\nplt.hist(df.a)"),
        ("fit", "%%track\nclf = LogisticRegression().fit(df[['a']], df.y)"),
    )
    assert _counts(session) == [1, 2, 6]


def test_out_of_order_execution_uses_the_definition_that_ran_last() -> None:
    # The notebook reads load, split, fit top to bottom; the user ran load twice, with a split edited in between.
    session = _session(
        ("load", "data = list(range(10))"),
        ("split", "train = data[:5]"),
        ("load", "data = list(range(20))"),
        ("fit", "model = sum(train)"),
    )
    assert _counts(session) == [1, 2, 4]  # train came from the split of the first load: the second is not needed
    session.record("train = data[:5]", 5, "split")
    session.record("model = sum(train)", 6, "fit")
    assert _counts(session) == [3, 5, 6]


def test_latest_definition_before_the_run_wins() -> None:
    session = _session(("a", "C = 1.0"), ("b", "C = 10.0"), ("c", "score = C * 2"), ("b", "C = 0.1"))
    assert _counts(session, 2) == [2, 3]


def test_mutation_through_methods_keeps_every_step() -> None:
    session = _session(
        ("load", "import pandas as pd\ndf = pd.DataFrame({'a': [1, None, 3]})"),
        ("clean", "df.dropna(inplace=True)"),
        ("feat", "features = []"),
        ("feat2", "features.append('a')"),
        ("look", "len(features)"),
        ("fit", "X = df[features]"),
    )
    assert _counts(session) == [1, 2, 3, 4, 6]


def test_functions_and_classes_from_other_cells_bring_their_free_names() -> None:
    session = _session(
        ("helpers", "def featurize(frame):\n    return frame * SCALE + offset()"),
        ("offset", "def offset():\n    return BIAS"),
        ("consts", "SCALE = 3"),
        ("unused", "UNUSED = 1"),
        ("bias", "BIAS = 0.5"),
        ("model", "class Model:\n    def __init__(self):\n        self.k = K"),
        ("k", "K = 7"),
        ("run", "x = featurize(10)\nm = Model()"),
    )
    assert _counts(session) == [1, 2, 3, 5, 6, 7, 8]


def test_a_function_that_mutates_its_argument_defines_it_at_the_call() -> None:
    session = _session(
        ("def", "def clean(frame):\n    frame.dropna(inplace=True)"),
        ("load", "df = load()"),
        ("call", "clean(df)"),
        ("other", "other = 1"),
        ("use", "n = len(df)"),
    )
    assert _counts(session) == [1, 2, 3, 5]


def test_methods_of_user_classes_that_change_self_count_as_definitions() -> None:
    session = _session(
        (
            "class",
            "class Counter:\n    def __init__(self):\n        self.n = 0\n    def bump(self):\n        self.n += 1",
        ),
        ("make", "c = Counter()"),
        ("bump", "c.bump()"),
        ("use", "value = c.n"),
    )
    assert _counts(session) == [1, 2, 3, 4]


def test_imports_are_found_like_any_name_and_star_imports_cover_unknown_names() -> None:
    session = _session(
        ("np", "import numpy as np"),
        ("pd", "import pandas as pd"),
        ("star", "from math import *"),
        ("use", "x = np.array([sqrt(2)])"),
    )
    assert _counts(session) == [1, 3, 4]


def test_environment_magics_are_always_kept() -> None:
    session = _session(("cd", "%cd /tmp"), ("x", "x = 1"), ("run", "y = 2"))
    assert _counts(session) == [1, 3]


def test_output_references_bring_the_cell_that_produced_them() -> None:
    session = _session(("a", "3 * 7"), ("b", "z = 1"), ("c", "twice = _1 * 2"))
    assert _counts(session) == [1, 3]


def test_a_pending_cell_is_sliced_before_it_runs() -> None:
    session = _session(("a", "x = 1"), ("b", "y = 2"))
    pending = session.pending("%%track\nz = x + 1", 3, "c")
    found = session.slice(pending)
    assert [e.count for e in found.executions] == [1, 3]
    assert found.needed == (("x", 0),)
    assert len(session) == 2


def test_slice_source_heads_each_cell_with_its_count_and_id() -> None:
    session = _session(("a1", "x = 1"), ("b2", "%%track\ny = x"))
    text = slice_source(session.slice(1).executions, "# header\n")
    assert text == "# header\n\n# %% In[1] cell a1\nx = 1\n\n# %% In[2] cell b2\n%%track\ny = x\n"
