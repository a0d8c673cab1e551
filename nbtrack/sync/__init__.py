"""``nbtrack.sync(src, dst)``: copy experiments, runs and the registry from one store to another.

Any nbtrack store on either side (a folder, ``memory:``, an MLflow tracking server), and
MLflow's own ``mlruns/`` folders and ``sqlite:///`` databases as sources. Runs keep their
params, full metric histories (steps and timestamps), tags, datasets, status, times and
files; registered models keep their versions, stages, aliases, descriptions and tags.

A copy records where it came from in the tag ``nbtrack.sync.source_run`` (runs) or
``nbtrack.sync.source_version`` (versions), so a second sync copies nothing, and a copy
synced back to where it came from is recognised as the original.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from nbtrack.entities import LifecycleStage, Metric, ModelVersionStage, Param, RunStatus, ViewType
from nbtrack.errors import AlreadyExists, InvalidParameter, NbtrackError, NotFound
from nbtrack.store.documents import dataset_input_from_dict, metric_float
from nbtrack.sync._sources import Source, open_source
from nbtrack.tracking.client import TrackingClient

__all__ = ["SOURCE_RUN_TAG", "SOURCE_VERSION_TAG", "SyncSummary", "sync"]

SOURCE_RUN_TAG = "nbtrack.sync.source_run"
SOURCE_VERSION_TAG = "nbtrack.sync.source_version"
_SKIPPED_EXPERIMENTS = {"nbtrack.registry-audit"}
_BATCH = 1000


@dataclass
class SyncSummary:
    """What a sync did."""

    source: str
    destination: str
    experiments_created: int = 0
    runs_copied: int = 0
    runs_skipped: int = 0
    metric_points: int = 0
    artifact_files: int = 0
    models_created: int = 0
    versions_copied: int = 0
    versions_skipped: int = 0
    run_map: dict[str, str] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        return (
            f"Synced {self.source} -> {self.destination}: "
            f"{self.runs_copied} run(s) copied ({self.metric_points} metric points, {self.artifact_files} files), "
            f"{self.runs_skipped} already there; {self.experiments_created} experiment(s) and "
            f"{self.models_created} registered model(s) created; {self.versions_copied} model version(s) copied, "
            f"{self.versions_skipped} already there."
        )


class _Progress:
    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total = total
        self.done = 0
        self.enabled = (total >= 20 and sys.stderr.isatty()) if enabled is None else enabled

    def step(self) -> None:
        self.done += 1
        if self.enabled and (self.done == self.total or self.done % max(1, self.total // 100) == 0):
            width = 30
            filled = width * self.done // max(1, self.total)
            bar = "#" * filled + "-" * (width - filled)
            print(f"\rsync [{bar}] {self.done}/{self.total} runs", end="", file=sys.stderr, flush=True)
            if self.done == self.total:
                print(file=sys.stderr)


def sync(
    src: str,
    dst: str,
    experiments: list[str] | None = None,
    *,
    progress: bool | None = None,
) -> SyncSummary:
    """Copy experiments, runs and registered models from ``src`` to ``dst``.

    Parameters
    ----------
    src : str
        An nbtrack store (folder, ``memory:``, ``http(s)://`` server), an MLflow ``mlruns/`` folder
        or an MLflow ``sqlite:///`` database.
    dst : str
        An nbtrack store (folder, ``memory:`` or server).
    experiments : list of str, optional
        Names (or ids) of the experiments to copy; all by default. The registry is copied whole
        unless experiments are given, then only versions whose runs were copied.
    progress : bool, optional
        Show a progress bar on stderr (default: on a terminal, for 20 runs or more).

    Returns
    -------
    SyncSummary
        Counts of what was copied and skipped; ``str()`` of it is a one-paragraph summary.

    Raises
    ------
    InvalidParameter
        A source that is not a store, a destination that is the source, or unknown experiments.
    """
    source = open_source(src)
    target = TrackingClient(dst)
    if isinstance(src, str) and target.tracking_uri == getattr(getattr(source, "client", None), "tracking_uri", None):
        raise InvalidParameter(f"Sync source and destination are the same store ({dst}).")
    summary = SyncSummary(source.label, target.tracking_uri)
    chosen = _chosen_experiments(source, experiments)
    plan = [(exp, source.runs(exp.experiment_id)) for exp in chosen]
    bar = _Progress(sum(len(runs) for _, runs in plan), progress)
    for exp, runs in plan:
        dst_exp = _experiment(target, exp, summary)
        known = _known_runs(target, dst_exp)
        for doc in runs:
            _copy_run(source, target, dst_exp, doc, known, summary)
            bar.step()
    _copy_registry(source, target, summary, whole=experiments is None)
    flush = getattr(target.store, "flush", None)
    if callable(flush):
        flush()
    return summary


def _chosen_experiments(source: Source, names: list[str] | None) -> list[Any]:
    every = [e for e in source.experiments() if e.name not in _SKIPPED_EXPERIMENTS]
    if names is None:
        return every
    wanted = set(names)
    chosen = [e for e in every if e.name in wanted or e.experiment_id in wanted]
    missing = wanted - {e.name for e in chosen} - {e.experiment_id for e in chosen}
    if missing:
        raise InvalidParameter(
            f"No experiment {', '.join(sorted(missing))} in {source.label}; it has: "
            f"{', '.join(e.name for e in every) or '(none)'}."
        )
    return chosen


def _experiment(target: TrackingClient, exp: Any, summary: SyncSummary) -> str:
    found = target.get_experiment_by_name(exp.name)
    if found is not None:
        if found.lifecycle_stage == LifecycleStage.DELETED and exp.lifecycle_stage == LifecycleStage.ACTIVE:
            target.restore_experiment(found.experiment_id)
        return found.experiment_id
    tags = {k: v for k, v in exp.tags.items() if not k.startswith("mlflow.")}
    try:
        new_id = target.create_experiment(exp.name, tags=tags)
    except AlreadyExists:
        again = target.get_experiment_by_name(exp.name)
        assert again is not None
        return again.experiment_id
    summary.experiments_created += 1
    if exp.lifecycle_stage == LifecycleStage.DELETED:
        target.delete_experiment(new_id)
    return new_id


def _known_runs(target: TrackingClient, experiment_id: str) -> dict[str, str]:
    """Source run id → run id in the destination, for the runs already there."""
    known: dict[str, str] = {}
    for doc in target.search_run_docs([experiment_id], None, ViewType.ALL, None, None):
        known[doc["run_id"]] = doc["run_id"]
        origin = doc.get("tags", {}).get(SOURCE_RUN_TAG)
        if origin:
            known[origin] = doc["run_id"]
    return known


def _copy_run(
    source: Source,
    target: TrackingClient,
    experiment_id: str,
    doc: dict[str, Any],
    known: dict[str, str],
    summary: SyncSummary,
) -> None:
    run_id = doc["run_id"]
    origin = doc.get("tags", {}).get(SOURCE_RUN_TAG)
    existing = known.get(run_id) or (known.get(origin) if origin else None)
    if existing is not None:
        summary.runs_skipped += 1
        summary.run_map[run_id] = existing
        return
    tags = {k: v for k, v in doc.get("tags", {}).items() if not k.startswith("nbtrack.sync.")}
    tags[SOURCE_RUN_TAG] = origin or run_id  # the first run of the chain, so a copy of a copy is recognised
    if doc.get("user_id"):
        tags.setdefault("mlflow.user", doc["user_id"])
    new = target.create_run(
        experiment_id, start_time=int(doc["start_time"] or 0) or None, tags=tags, run_name=doc.get("run_name") or None
    )
    new_id = new.info.run_id
    store = target.store
    params = [Param(k, v) for k, v in doc.get("params", {}).items()]
    histories = source.histories(run_id, doc)
    points = [m for history in histories.values() for m in history]
    if not histories and doc.get("metrics"):  # a source without histories: the latest values
        meta = doc.get("metric_meta", {})
        points = [
            Metric(k, metric_float(v), int(meta.get(k, [doc["start_time"], 0])[0]), int(meta.get(k, [0, 0])[1]))
            for k, v in doc["metrics"].items()
        ]
    for i in range(0, max(len(points), len(params), 1), _BATCH):
        store.log_batch(new_id, metrics=points[i : i + _BATCH], params=params[i : i + _BATCH])
    summary.metric_points += len(points)
    inputs = [dataset_input_from_dict(d) for d in doc.get("inputs", ())]
    if inputs:
        store.log_inputs(new_id, inputs)
    with source.artifacts(run_id) as folder:
        if folder is not None:
            summary.artifact_files += sum(1 for p in Path(folder).rglob("*") if p.is_file())
            store.log_artifacts(new_id, folder)
    status = doc.get("status", RunStatus.FINISHED)
    if RunStatus.is_terminated(status):
        store.update_run_info(new_id, status=status, end_time=doc.get("end_time") or doc["start_time"])
    if doc.get("lifecycle_stage") == LifecycleStage.DELETED:
        target.delete_run(new_id)
    known[run_id] = new_id
    summary.run_map[run_id] = new_id
    summary.runs_copied += 1


def _artifact_path(source: str, run_id: str) -> str | None:
    """The path inside its run's artifacts of a version's source (``runs:/`` URI or a local path)."""
    if source.startswith("runs:/"):
        body = source[len("runs:/") :].lstrip("/")
        rid, _, path = body.partition("/")
        return path.strip("/") if rid == run_id else None
    parts = PurePosixPath(source.replace("\\", "/")).parts
    for i in range(len(parts) - 1):
        if parts[i + 1] == run_id:
            rest = parts[i + 2 :]
            if rest and rest[0] == "artifacts":
                rest = rest[1:]  # MLflow's <experiment>/<run>/artifacts/<path>
            return "/".join(rest)
    return None


def _copy_registry(source: Source, target: TrackingClient, summary: SyncSummary, *, whole: bool) -> None:
    for model in source.models():
        versions = source.versions(model.name)
        if not whole and not any(mv.run_id in summary.run_map for mv in versions):
            continue
        try:
            target.get_registered_model(model.name)
        except NotFound:
            tags = {k: v for k, v in model.tags.items() if not k.startswith("nbtrack.")}
            target.create_registered_model(model.name, tags=tags, description=model.description or None)
            summary.models_created += 1
        done: dict[str, str] = {}
        placed: dict[str, str] = {}  # source version → the version copied now
        for mv in target.search_model_versions(f"name = '{model.name.replace(chr(39), chr(92) + chr(39))}'"):
            done[f"{model.name}/{mv.version}"] = mv.version
            origin = mv.tags.get(SOURCE_VERSION_TAG)
            if origin:
                done[origin] = mv.version
        for mv in versions:
            key = f"{model.name}/{mv.version}"
            origin = mv.tags.get(SOURCE_VERSION_TAG)
            if key in done or (origin and origin in done and origin.startswith(model.name + "/")):
                summary.versions_skipped += 1
                continue  # its aliases were set when it was copied
            if not whole and mv.run_id not in summary.run_map:
                continue
            run_id = summary.run_map.get(mv.run_id or "") if mv.run_id else None
            path = _artifact_path(mv.source, mv.run_id) if mv.run_id else None
            new_source = f"runs:/{run_id}/{path}".rstrip("/") if run_id and path is not None else mv.source
            tags = {k: v for k, v in mv.tags.items() if not k.startswith("nbtrack.sync.")}
            tags[SOURCE_VERSION_TAG] = origin or key
            try:
                created = target.create_model_version(
                    model.name, new_source, run_id=run_id, tags=tags, description=mv.description or None
                )
            except NbtrackError:  # the files are not in the copied run: keep the version's own source
                created = target.create_model_version(
                    model.name, mv.source, run_id=run_id, tags=tags, description=mv.description or None
                )
            if mv.current_stage != ModelVersionStage.NONE:
                target.transition_model_version_stage(model.name, created.version, mv.current_stage)
            placed[mv.version] = created.version
            summary.versions_copied += 1
        aliases = dict(model.aliases)
        for mv in versions:
            aliases.update({alias: mv.version for alias in mv.aliases})
        for alias, number in sorted(aliases.items()):
            if number in placed:
                target.set_registered_model_alias(model.name, alias, placed[number])
