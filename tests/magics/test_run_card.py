"""The run card: static HTML and text, escaping, and its buttons."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import nbtrack
from nbtrack.entities import Dataset, DatasetInput, InputTag
from nbtrack.widgets.run_card import RunCard

XSS = "<img src=x onerror=alert(1)>"


def _logged_run() -> str:
    nbtrack.set_experiment(f"exp {XSS}")
    with nbtrack.start_run(run_name=XSS) as run:
        nbtrack.log_param("penalty", f"v{XSS}")
        nbtrack.log_metric("accuracy", 0.91234)
        nbtrack.set_tag("nbtrack.state", f"out of order: {XSS}")
        nbtrack.log_inputs(
            [DatasetInput(Dataset(name=f"X_train{XSS}", digest="abc123"), (InputTag("mlflow.data.context", "train"),))]
        )
        nbtrack.log_text("{}", "model/nbtrack_model.json")
        with nbtrack.start_run(run_name="child", nested=True):
            nbtrack.log_metric("rmse", 1.5)
    return run.info.run_id


def test_card_mimebundle_is_static_html_and_text_with_everything_escaped() -> None:
    run_id = _logged_run()
    bundle = RunCard(run_id)._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    page = bundle["text/html"]
    assert "<img" not in page and "<script" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "FINISHED" in page and run_id in page
    assert "0.9123" in page  # key metric
    assert "abc123" in page and "(train)" in page  # data fingerprint
    assert f"runs:/{run_id}/model" in page  # the logged model
    assert "child" in page and "rmse=1.5" in page  # the nested run
    assert "out of order: &lt;img" in page  # state warning
    assert XSS in bundle["text/plain"]


def test_card_shows_the_failure_of_a_failed_run() -> None:
    with nbtrack.start_run(run_name="broken") as run:
        nbtrack.set_tags({"nbtrack.exception_type": "ValueError", "nbtrack.exception_message": "bad <x>"})
    nbtrack.MlflowClient().set_terminated(run.info.run_id, "FAILED")
    page = RunCard(run.info.run_id).to_html()
    assert "FAILED" in page and "ValueError: bad &lt;x&gt;" in page


def test_compare_button_reports_in_the_card_output() -> None:
    card = RunCard(_logged_run())
    box = card.actions()
    card.buttons["compare"].click()
    # Then the comparison dashboard (nbtrack.show) opens in the card's output
    (shown,) = card.output.outputs
    assert "application/vnd.jupyter.widget-view+json" in shown["data"]
    assert shown["data"]["text/plain"].startswith("Dashboard(")
    assert box.children[-1] is card.output


def test_register_button_registers_the_logged_model_and_is_disabled_without_one() -> None:
    with nbtrack.start_run(run_name="no-model") as run:
        nbtrack.log_metric("m", 1.0)
    card = RunCard(run.info.run_id)
    card.actions()
    assert card.buttons["register"].disabled
    run_id = _logged_run()
    card = RunCard(run_id)
    card.actions()
    assert not card.buttons["register"].disabled
    assert card.model_name.value not in ("", "model")  # a name that says what it is (see tests/widgets)
    card.model_name.value = "churn"
    card.buttons["register"].click()
    text = "".join(o.get("text", "") for o in card.output.outputs)
    assert text == f"Registered 'churn' version 1 from runs:/{run_id}/model.\n"
    assert nbtrack.MlflowClient().get_model_version("churn", "1").run_id == run_id
    # An empty name is refused with a message, nothing registered
    card.model_name.value = " "
    card.buttons["register"].click()
    assert "Type a name" in card.output.outputs[-1]["text"]


def test_run_card_imports_neither_magics_nor_autolog() -> None:
    code = (
        "import sys, nbtrack.widgets.run_card\n"
        "bad = [m for m in ('nbtrack.magics', 'nbtrack.sklearn', 'nbtrack.autolog') if m in sys.modules]\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env())
    assert out.stdout.strip() == "[]"


def _env() -> dict[str, Any]:
    import os
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
