"""``%%track`` with scikit-learn autolog, through a real IPython shell."""

from __future__ import annotations

from typing import Any

import nbtrack

SETUP = (
    "from sklearn.datasets import make_classification\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.tree import DecisionTreeClassifier\n"
    "X, y = make_classification(n_samples=200, n_features=6, random_state=0)"
)
TWO_FITS = "lr = LogisticRegression(max_iter=200).fit(X, y)\ntree = DecisionTreeClassifier(max_depth=3).fit(X, y)"


def _runs() -> list[nbtrack.Run]:
    return nbtrack.search_runs(output_format="list", search_all_experiments=True)


def _cell(ip: Any, code: str) -> Any:
    result = ip.run_cell(code, store_history=True)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


def _teardown_autolog() -> None:
    import nbtrack.sklearn

    nbtrack.sklearn.autolog(disable=True)


def test_two_fits_in_a_tracked_cell_give_one_run_with_a_nested_child(ip: Any) -> None:
    try:
        _cell(ip, SETUP)
        _cell(ip, "%%track two-models --quiet\n" + TWO_FITS)
        runs = _runs()
        (parent,) = [r for r in runs if r.info.run_name == "two-models"]
        children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert len(runs) == 2 and len(children) == 1
        classes = {parent.data.tags.get("estimator_name"), children[0].data.tags.get("estimator_name")}
        assert classes == {"LogisticRegression", "DecisionTreeClassifier"}
        assert "training_accuracy_score" in parent.data.metrics
        assert all(r.info.status == "FINISHED" for r in runs)
        assert parent.data.tags["nbtrack.cell_source"] == TWO_FITS
        assert nbtrack.active_run() is None
        # The card shows the child and both models
        from nbtrack.widgets.run_card import RunCard

        card = RunCard(parent.info.run_id)
        assert [c.info.run_id for c in card.children] == [children[0].info.run_id]
        assert {m.run_id for m in card.models} == {parent.info.run_id, children[0].info.run_id}
    finally:
        _teardown_autolog()


def test_no_autolog_logs_no_fit_and_plain_cells_stay_untracked(ip: Any) -> None:
    try:
        _cell(ip, SETUP)
        _cell(ip, "%%track on --quiet\nlr = LogisticRegression(max_iter=200).fit(X, y)")
        _cell(ip, "%%track off --quiet --no-autolog\nlr = LogisticRegression(max_iter=200).fit(X, y)")
        # A plain cell after autolog was switched on by the magic creates no run
        _cell(ip, "tree = DecisionTreeClassifier().fit(X, y)")
        by_name = {r.info.run_name: r for r in _runs()}
        assert set(by_name) == {"on", "off"}
        assert by_name["on"].data.params and "training_score" in by_name["on"].data.metrics
        assert by_name["off"].data.params == {} and by_name["off"].data.metrics == {}
    finally:
        _teardown_autolog()


def test_autolog_switched_on_by_the_user_keeps_their_settings(ip: Any) -> None:
    try:
        _cell(ip, SETUP + "\nimport nbtrack.sklearn\nnbtrack.sklearn.autolog(log_models=False)")
        _cell(ip, "%%track mine --quiet\nlr = LogisticRegression(max_iter=200).fit(X, y)")
        # A plain cell still autologs, as the user asked for
        _cell(ip, "tree = DecisionTreeClassifier().fit(X, y)")
        runs = _runs()
        assert len(runs) == 2
        mine = next(r for r in runs if r.info.run_name == "mine")
        assert mine.data.params
        assert nbtrack.MlflowClient().list_artifacts(mine.info.run_id, "model") == []
    finally:
        _teardown_autolog()
