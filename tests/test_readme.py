"""The README's Python example runs as pasted into ``python``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbtrack

REPO = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs_and_records_a_production_model(tmp_path: Path) -> None:
    # Given the first python block of the README
    readme = (REPO / "README.md").read_text()
    match = re.search(r"```python\n(.*?)```", readme, re.S)
    assert match, "README has no python example"
    # When it runs in a fresh interpreter in an empty folder
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("NBTRACK_STORE", None)
    env.pop("NBTRACK_TESTING", None)
    done = subprocess.run(
        [sys.executable, "-c", match.group(1)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    # Then it succeeds and the default store holds the run and the Production version
    assert done.returncode == 0, done.stderr
    client = nbtrack.TrackingClient(str(tmp_path / ".nbtrack"))
    experiment = client.get_experiment_by_name("churn")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.params["C"] == "0.5"
    assert run.data.tags["team"] == "retention"
    assert [v.current_stage for v in client.search_model_versions("name='Churn'")] == ["Production"]
