"""The run card's live parts and saved form: sparklines, stale badge, suggested names, Compare, saved buttons."""

from __future__ import annotations

import nbtrack
from nbtrack.widgets.run_card import RunCard, sparkline_html


def _model_run(experiment: str = "wine", estimator: str = "RandomForestClassifier") -> str:
    nbtrack.set_experiment(experiment)
    with nbtrack.start_run(run_name="fit") as run:
        nbtrack.set_tag("estimator_name", estimator)
        nbtrack.log_metric("accuracy", 0.9)
        nbtrack.log_text("flavor: sklearn\n", "model/nbtrack_model.json")
    return run.info.run_id


def test_multi_step_metric_shows_last_of_n_with_a_sparkline() -> None:
    with nbtrack.start_run(run_name="train") as run:
        for step in range(60):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        nbtrack.log_metric("accuracy", 0.8)
    card = RunCard(run.info.run_id)
    html = card.to_html()
    assert "last of 60" in html and "jp-nbtrack-Sparkline" in html
    assert html.count("last of") == 1  # a one-step metric is just its value
    assert "<svg" not in html and "<script" not in html  # plain HTML that any sanitizer keeps
    assert "last of 60" in card.to_text()


def test_sparkline_downsamples_long_histories() -> None:
    html = sparkline_html([float(i) for i in range(1000)])
    assert 25 <= html.count("display:inline-block;width:3px") <= 35
    assert sparkline_html([1.0]) == ""


def test_stale_run_shows_a_badge_with_the_reason() -> None:
    with nbtrack.start_run(run_name="old") as run:
        nbtrack.set_tags({"nbtrack.stale": "true", "nbtrack.stale_reason": "cell [4] `X_train = ...` changed"})
    card = RunCard(run.info.run_id)
    html = card.to_html()
    assert "jp-nbtrack-Stale" in html and "cell [4] `X_train = ...` changed" in html
    card.actions()
    assert "reproduce" in card.buttons


def test_fresh_run_has_no_stale_badge() -> None:
    with nbtrack.start_run(run_name="new") as run:
        nbtrack.set_tag("nbtrack.stale", "false")
    assert "jp-nbtrack-Stale" not in RunCard(run.info.run_id).to_html()


def test_register_suggests_experiment_and_estimator_then_the_existing_model() -> None:
    first = _model_run()
    card = RunCard(first)
    card.actions()
    assert card.model_name.value == "wine-random-forest-classifier"
    nbtrack.register_model(f"runs:/{first}/model", "wine-clf")
    card = RunCard(_model_run())
    card.actions()
    assert card.model_name.value == "wine-clf"  # the next version of the experiment's model


def test_compare_opens_the_dashboard_with_the_run_selected() -> None:
    run_id = _model_run()
    with nbtrack.start_run(run_name="later"):
        nbtrack.log_metric("accuracy", 0.5)
    card = RunCard(run_id)
    card.actions()
    seen = []
    import nbtrack.widgets.dashboard as dashboard

    original = dashboard.Dashboard.__init__

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        seen.append(self)

    dashboard.Dashboard.__init__ = spy  # type: ignore[method-assign]
    try:
        card.buttons["compare"].click()
    finally:
        dashboard.Dashboard.__init__ = original  # type: ignore[method-assign]
    assert seen and seen[0].table.selected_run_ids == [run_id]


def test_saved_buttons_leave_an_empty_html_instead_of_model_not_found() -> None:
    card = RunCard(_model_run())
    bundle = card.actions()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "jp-nbtrack-RunCard-actions-saved" in bundle["text/html"]
