"""Runs for the widget tests, written through the public fluent API into the per-test store."""

from __future__ import annotations

import pytest

import nbtrack

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def runs() -> dict[str, str]:
    """Five runs (name → run id): params C/kind/seed, metrics loss and accuracy with 10-step histories."""
    ids: dict[str, str] = {}
    specs = [
        ("lr-small", {"C": 0.1, "kind": "lr", "seed": 0}, 0.70, 0.60),
        ("lr-big", {"C": 10, "kind": "lr", "seed": 0}, 0.80, 0.40),
        ("rf", {"C": 1, "kind": "rf", "seed": 0}, 0.95, 0.10),
        ("gb", {"C": 1, "kind": "gb", "seed": 0}, 0.90, 0.20),
        (XSS, {"C": 5, "kind": XSS, "seed": 0}, 0.50, 0.90),
    ]
    for name, params, acc, loss in specs:
        with nbtrack.start_run(run_name=name) as run:
            nbtrack.log_params(params)
            for step in range(10):
                nbtrack.log_metric("accuracy", acc * (step + 1) / 10, step=step)
                nbtrack.log_metric("loss", loss * (10 - step) / 10 + loss, step=step)
            ids[name] = run.info.run_id
    return ids
