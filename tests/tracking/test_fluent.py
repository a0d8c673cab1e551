"""The fluent API end to end on the default (TinyDB) store."""

from __future__ import annotations

import math

import pytest

import nbtrack
from nbtrack.errors import InvalidParameter, InvalidState


def test_start_run_context_manager_records_params_metrics_and_finishes() -> None:
    # Given an experiment named like a Databricks path
    nbtrack.set_experiment("/Users/me/churn")
    # When a run logs params and metrics
    with nbtrack.start_run(run_name="baseline") as run:
        nbtrack.log_params({"C": 1.0, "penalty": "l2"})
        for step in range(3):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        nbtrack.log_metric("odd", float("nan"))
    # Then the stored run holds them and is FINISHED
    stored = nbtrack.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.info.run_name == "baseline"
    assert stored.data.params == {"C": "1.0", "penalty": "l2"}
    assert stored.data.metrics["loss"] == pytest.approx(1 / 3)
    assert math.isnan(stored.data.metrics["odd"])
    assert [m.step for m in nbtrack.get_metric_history(run.info.run_id, "loss")] == [0, 1, 2]


def test_run_failing_inside_context_is_marked_failed() -> None:
    with pytest.raises(ZeroDivisionError), nbtrack.start_run() as run:
        1 / 0  # noqa: B018
    assert nbtrack.get_run(run.info.run_id).info.status == "FAILED"
    assert nbtrack.active_run() is None


def test_keyboard_interrupt_marks_run_killed() -> None:
    with pytest.raises(KeyboardInterrupt), nbtrack.start_run() as run:
        raise KeyboardInterrupt
    assert nbtrack.get_run(run.info.run_id).info.status == "KILLED"


def test_relogging_a_param_with_another_value_raises_and_keeps_the_first() -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_param("depth", 3)
        with pytest.raises(InvalidParameter, match="depth"):
            nbtrack.log_param("depth", 4)
    assert nbtrack.get_run(run.info.run_id).data.params["depth"] == "3"


def test_second_start_run_without_nested_raises() -> None:
    with nbtrack.start_run():
        with pytest.raises(InvalidState, match="nested=True"):
            nbtrack.start_run()
        with nbtrack.start_run(nested=True) as child:
            pass
    parent = nbtrack.last_active_run()
    assert parent is not None
    assert nbtrack.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
