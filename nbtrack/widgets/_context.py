"""What the notebook is working on: its active experiment and the model it registered last.

The widgets open on these by default, as a user expects after ``set_experiment("wine")`` and
``register_model(..., "wine-clf")``; the pickers change them.
"""

from __future__ import annotations

from typing import Any

from nbtrack.tracking.client import TrackingClient


def active_experiment_id() -> str | None:
    """The experiment the notebook set (``set_experiment`` / ``%%track --experiment``), else that of its last run.

    Returns
    -------
    str or None
        ``None`` when the notebook has chosen none and run nothing yet.
    """
    from nbtrack.tracking import state

    chosen = state.experiment_id()
    if chosen:
        return str(chosen)
    run_id = state.active_run_id() or state.last_run_id()
    try:
        run = state.get_client().get_run(run_id) if run_id else None
    except Exception:
        return None
    return run.info.experiment_id if run is not None else None


def experiments_with_runs(client: TrackingClient) -> list[Any]:
    """Active experiments, newest first by their id (creation order)."""
    found = list(client.search_experiments())
    return sorted(found, key=lambda e: int(e.experiment_id) if str(e.experiment_id).isdigit() else 0, reverse=True)


def default_model(client: TrackingClient, experiment_ids: list[str] | None) -> str | None:
    """The registered model to open first: the one with the newest version from these experiments' runs.

    Falls back to the most recently changed model; ``None`` when nothing is registered.
    """
    try:
        versions = list(client.search_model_versions())
    except Exception:
        return None
    if not versions:
        return None
    newest = sorted(versions, key=lambda v: v.creation_timestamp or 0, reverse=True)
    if experiment_ids:
        wanted = set(experiment_ids)
        for version in newest[:50]:
            if not version.run_id:
                continue
            try:
                if client.get_run(version.run_id).info.experiment_id in wanted:
                    return str(version.name)
            except Exception:
                continue
    return str(newest[0].name)
