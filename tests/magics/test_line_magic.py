"""``%nbtrack`` subcommands through a real IPython shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

import nbtrack
from nbtrack.widgets.run_card import RunCard


def test_runs_lists_recent_runs_of_the_active_or_named_experiment(ip: Any) -> None:
    for i in range(3):
        ip.run_cell(f"%%track run{i} --quiet\nx = {i}", store_history=True)
    ip.run_cell("%%track other -e elsewhere --quiet\nx = 9", store_history=True)
    frame = ip.run_line_magic("nbtrack", "runs -n 2")
    assert list(frame["tags.mlflow.runName"]) == ["run2", "run1"]
    assert "tags.nbtrack.cell_source" not in frame.columns and "run_id" in frame.columns
    frame = ip.run_line_magic("nbtrack", "runs -e elsewhere")
    assert list(frame["tags.mlflow.runName"]) == ["other"]


def test_show_returns_the_card_of_a_run(ip: Any) -> None:
    ip.run_cell("%%track shown --quiet\nx = 1", store_history=True)
    run_id = nbtrack.last_active_run().info.run_id
    card = ip.run_line_magic("nbtrack", f"show {run_id}")
    assert isinstance(card, RunCard) and card.run.info.run_name == "shown"
    with pytest.raises(UsageError, match="nope"):
        ip.run_line_magic("nbtrack", "show nope")


def test_experiment_sets_the_active_experiment(ip: Any) -> None:
    ip.run_line_magic("nbtrack", "experiment 'churn model'")
    ip.run_cell("%%track --quiet\nx = 1", store_history=True)
    (run,) = nbtrack.search_runs(output_format="list", experiment_names=["churn model"])
    assert run.data.tags["nbtrack.execution_count"] == "1"


def test_store_sets_the_store(ip: Any, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    ip.run_line_magic("nbtrack", f"store {target}")
    assert nbtrack.get_tracking_uri() == str(target)
    ip.run_cell("%%track --quiet\nx = 1", store_history=True)
    assert len(nbtrack.search_runs()) == 1
    assert (target / "nbtrack.json").exists() or any(target.iterdir())


@pytest.mark.parametrize("line", ["", "frobnicate", "runs -n zero", "runs --bogus", "show", "experiment"])
def test_bad_subcommands_raise_usage_error_listing_them(ip: Any, line: str) -> None:
    with pytest.raises(UsageError) as err:
        ip.run_line_magic("nbtrack", line)
    assert "runs [-e NAME] [-n N] | show RUN_ID | experiment NAME | store PATH" in str(err.value)
