"""Autolog inside a real IPython shell: names of notebook variables reach the run."""

from __future__ import annotations

import nbtrack
from tests.autolog.conftest import all_runs


def test_notebook_variables_name_the_datasets_and_post_training_metrics() -> None:
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    cells = [
        "import nbtrack.sklearn, sklearn.metrics\n"
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "data = load_breast_cancer(as_frame=True)\n"
        "X_fit, X_holdout = data.data.iloc[:400], data.data.iloc[400:]\n"
        "y_fit, y_holdout = data.target.iloc[:400], data.target.iloc[400:]\n"
        "nbtrack.sklearn.autolog()",
        "clf = LogisticRegression(max_iter=5000).fit(X_fit, y_fit)",
        "acc = sklearn.metrics.accuracy_score(y_holdout, clf.predict(X_holdout))",
    ]
    for cell in cells:
        result = ip.run_cell(cell)
        assert result.success, result.error_in_exec
    (run,) = all_runs()
    names = {(d.dataset.name, d.context) for d in run.inputs.dataset_inputs}
    assert names == {("X_fit", "train"), ("X_holdout", "eval")}
    assert run.data.metrics["accuracy_score_X_holdout"] == ip.user_ns["acc"]
    assert nbtrack.sklearn.load_model(f"runs:/{run.info.run_id}/model").predict(ip.user_ns["X_holdout"]).shape == (169,)


def test_a_failing_fit_under_autolog_shows_the_same_traceback_as_without_it() -> None:
    import contextlib
    import io

    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    setup = "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\nimport nbtrack.sklearn"
    failing = "LogisticRegression().fit(np.zeros((3, 2)), ['a', 'a', 'a'])"
    assert ip.run_cell(setup).success

    def traceback_of(cell: str) -> list[str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            result = ip.run_cell(cell)
        assert isinstance(result.error_in_exec, ValueError)
        return [line for line in out.getvalue().splitlines() if line.startswith("File ")]

    # Given the frames of a failing fit without autolog
    plain = traceback_of(failing)
    # When the same fit fails with autolog on
    ip.run_cell("nbtrack.sklearn.autolog(silent=True)")
    try:
        logged = traceback_of(failing)
    finally:
        ip.run_cell("nbtrack.sklearn.autolog(disable=True)")
    # Then the traceback lists the same frames: none of nbtrack's
    assert [line.split(", in ")[-1] for line in logged] == [line.split(", in ")[-1] for line in plain]
    assert not any("nbtrack" in line for line in logged)
    assert all_runs()[0].info.status == "FAILED"
