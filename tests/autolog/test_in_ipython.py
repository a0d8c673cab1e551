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
