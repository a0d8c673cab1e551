"""What one cell defines and uses, read from its code."""

from __future__ import annotations

import pytest

from nbtrack.lineage.analysis import analyze


@pytest.mark.parametrize(
    ("source", "defs", "uses"),
    [
        ("x = 1", {"x"}, set()),
        ("y = x + 1\nx = 2", {"x", "y"}, {"x"}),
        ("x = 2\ny = x + 1", {"x", "y"}, set()),
        ("x += 1", {"x"}, {"x"}),
        ("df.dropna(inplace=True)", {"df"}, {"df"}),
        ("df = df.dropna()", {"df"}, {"df"}),
        ("df.head()", set(), {"df"}),
        ("items.append(3)", {"items"}, {"items"}),
        ("config.update(lr=0.1)", {"config"}, {"config"}),
        ("model.fit(X, y)", {"model"}, {"model", "X", "y"}),
        ("scaler.fit_transform(X)", {"scaler"}, {"scaler", "X"}),
        ("df['ratio'] = df.a / df.b", {"df"}, {"df"}),
        ("df.loc[df.a < 0, 'a'] = 0", {"df"}, {"df"}),
        ("model.C = 2.0", {"model"}, {"model"}),
        ("del df['a']", {"df"}, {"df"}),
        ("del tmp", {"tmp"}, set()),
        ("np.random.seed(0)", {"np"}, {"np"}),
        ("random.shuffle(rows)", {"random", "rows"}, {"random", "rows"}),
        ("import numpy as np\nfrom sklearn.svm import SVC as S", {"np", "S"}, set()),
        ("import os.path", {"os"}, set()),
        ("for i in range(3):\n    total = total + i", {"i", "total"}, {"range", "total"}),
        ("for i in range(3):\n    j = i * 2\n    print(j)", {"i", "j"}, {"range", "print"}),
        ("if flag:\n    a = 1\nelse:\n    a = 2\nb = a", {"a", "b"}, {"flag"}),
        ("if flag:\n    a = 1\nb = a", {"a", "b"}, {"flag", "a"}),
        ("with open(p) as fh:\n    text = fh.read()", {"fh", "text"}, {"open", "p"}),
        ("try:\n    v = f()\nexcept E as err:\n    v = None", {"v", "err"}, {"f", "E"}),
        ("squares = [x * w for x in data]", {"squares"}, {"data", "w"}),
        ("(n := len(data))", {"n"}, {"len", "data"}),
        ("out = _4 * 2", {"out"}, {"_4"}),
    ],
)
def test_definitions_and_uses(source: str, defs: set[str], uses: set[str]) -> None:
    facts = analyze(source)
    assert facts.error is None
    assert set(facts.defs) == defs
    assert set(facts.uses) == uses


def test_a_function_defers_its_free_names_to_the_call() -> None:
    facts = analyze("def score(model, X):\n    return metric(y_true, model.predict(X)) * weight\n")
    assert set(facts.defs) == {"score"}
    assert set(facts.uses) == set()
    assert set(facts.deferred["score"]) == {"metric", "y_true", "weight"}


def test_a_function_called_in_its_own_cell_uses_its_free_names_there() -> None:
    facts = analyze("def f():\n    return base + 1\nr = f()")
    assert "base" in facts.uses


def test_function_side_effects_are_recorded_for_its_callers() -> None:
    facts = analyze(
        "def clean(frame, other):\n    frame.dropna(inplace=True)\n\n"
        "def log(x):\n    global counter\n    counter = counter + 1\n    history.append(x)\n"
    )
    assert facts.param_mutations == {"clean": frozenset({0})}
    assert facts.global_writes["log"] == frozenset({"counter", "history"})


def test_a_class_body_runs_now_its_methods_later() -> None:
    facts = analyze("class Model(Base):\n    scale = SCALE\n    def train(self):\n        self.w = init(SEED)\n")
    assert set(facts.uses) == {"Base", "SCALE"}
    assert set(facts.deferred["Model"]) == {"init", "SEED"}
    assert facts.self_mutating_methods == frozenset({"train"})


def test_imports_carry_what_they_bind() -> None:
    facts = analyze("import pandas as pd\nfrom sklearn.metrics import f1_score")
    assert facts.signatures == {"pd": "import pandas", "f1_score": "from sklearn.metrics import f1_score"}
    assert analyze("from pylab import *").star


def test_magics_and_shell_lines_are_read_through_ipython() -> None:
    facts = analyze("%matplotlib inline\nfiles = !ls data\nn = len(files)")
    assert facts.error is None
    assert facts.environment
    assert {"files", "n"} <= facts.defs
    assert "files" not in facts.uses
    assert analyze("%cd /tmp").environment
    assert analyze("%run helpers.py").star
    timed = analyze("%time model = make(C)")
    assert "model" in timed.defs and "C" in timed.uses


def test_body_cell_magics_are_read_for_their_body() -> None:
    facts = analyze("%%track baseline -t team=search\nclf = LogisticRegression(C=C).fit(X_train, y_train)\n")
    assert set(facts.defs) == {"clf"}
    assert set(facts.uses) == {"LogisticRegression", "C", "X_train", "y_train"}
    captured = analyze("%%capture out\nresult = run()")
    assert {"out", "result"} <= facts.defs | captured.defs
    assert analyze("%%writefile helpers.py\ndef f(): pass").environment
    assert analyze("%%bash\nls -l").defs == frozenset()


def test_a_syntax_error_defines_nothing() -> None:
    facts = analyze("x = (1,")
    assert facts.error is not None
    assert facts.defs == frozenset()
