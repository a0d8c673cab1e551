"""``MlflowServerStore``: nbtrack's store contract over an MLflow tracking server's REST API.

Reads go to the server (after this process's buffered writes of the run are sent);
writes of params, tags and metric points are buffered and sent in ``log-batch`` calls
(see ``_outbox``). Every input is checked here with nbtrack's own rules first, so bad
input raises the same errors as on the embedded store and nothing reaches the server.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson

from nbtrack import _validation as v
from nbtrack.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from nbtrack.errors import AlreadyExists, InvalidParameter, InvalidState, NotFound
from nbtrack.query.search import compile_run_filter, sort_runs
from nbtrack.store.base import AbstractRegistryStore, AbstractStore
from nbtrack.store.documents import run_from_doc, run_info_from_doc
from nbtrack.store.mlflow_server import _convert as c
from nbtrack.store.mlflow_server._artifacts import ServerArtifactsMixin
from nbtrack.store.mlflow_server._outbox import Outbox, SpoolWarning
from nbtrack.store.mlflow_server._registry import ServerRegistryMixin
from nbtrack.store.mlflow_server._search import server_filter
from nbtrack.store.mlflow_server._transport import ServerUnavailable, Transport

_VIEW = {ViewType.ACTIVE_ONLY: "ACTIVE_ONLY", ViewType.DELETED_ONLY: "DELETED_ONLY", ViewType.ALL: "ALL"}
PAGE = 10_000
PROBE_INTERVAL = 2.0
_open_stores: weakref.WeakSet[MlflowServerStore] = weakref.WeakSet()


@dataclass
class _RunState:
    """What this process knows of a run, to check writes before they are buffered."""

    experiment_id: str
    lifecycle_stage: str
    status: str
    params: dict[str, str] = field(default_factory=dict)
    artifact_uri: str = ""
    run_name: str = ""
    start_time: int = 0
    user_id: str = ""
    end_time: int | None = None
    provisional: bool = False  # made up while the server was away; read again when it answers


def cache_root(uri: str) -> Path:
    """The local folder of a server's spool and artifact cache (``$NBTRACK_SPOOL`` or ``./.nbtrack``)."""
    base = os.environ.get("NBTRACK_SPOOL")
    root = Path(base) if base else Path(".nbtrack") / "servers"
    digest = hashlib.sha256(uri.encode()).hexdigest()[:12]
    return (root / digest).expanduser().resolve()


class MlflowServerStore(ServerArtifactsMixin, ServerRegistryMixin, AbstractStore, AbstractRegistryStore):
    """Runs, experiments, artifacts and the registry on an MLflow tracking server.

    Parameters
    ----------
    uri : str
        ``http(s)://host:port`` or ``databricks[://profile]``.
    """

    history_order = "timestamp"  # MLflow's server returns a metric history by (timestamp, step)

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._t = Transport(uri)
        self.cache = cache_root(uri)
        self._runs: dict[str, _RunState] = {}
        self._lock = threading.Lock()
        self._changes = 0
        self._seqs: dict[str, tuple[bytes, int]] = {}
        self._next_seq = 0
        self._probe: tuple[float, tuple[Any, ...]] = (0.0, ())
        self._outbox = Outbox(self._t, self.cache / "spool")
        self._init_artifacts()
        _open_stores.add(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"

    # -- plumbing ---------------------------------------------------------
    def _call(self, path: str, method: str = "POST", body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._t.call(path, method, body)

    def _changed(self) -> None:
        self._changes += 1

    def flush(self, run_id: str | None = None) -> bool:
        """Send buffered data now (of one run, or all); False when the server did not answer (data spooled)."""
        ok = self._outbox.flush(run_id)
        self._upload_pending(run_id)
        return ok

    def close(self, timeout: float = 10.0) -> bool:
        """Send what waits and stop the background flusher."""
        self._upload_pending(None)
        return self._outbox.close(timeout)

    def pending(self, run_id: str | None = None) -> int:
        """How many buffered items or spooled calls wait to be sent."""
        return self._outbox.pending(run_id)

    def version(self) -> tuple[int, ...]:
        """Changes made here, plus a fingerprint of the server probed at most every two seconds."""
        now = time.monotonic()
        stamp, probe = self._probe
        if now - stamp >= PROBE_INTERVAL:
            try:
                probe = self._fingerprint()
            except ServerUnavailable:
                probe = ("unavailable",)
            self._probe = (now, probe)
        digest = hashlib.blake2b(orjson.dumps(probe, default=str), digest_size=6).digest()
        return (self._changes, int.from_bytes(digest, "big"))

    def _fingerprint(self) -> tuple[Any, ...]:
        exps = self._call("experiments/search", "POST", {"max_results": 1000, "view_type": "ALL"})
        ids = [e["experiment_id"] for e in exps.get("experiments", [])]
        stamps = tuple(sorted((e["experiment_id"], e.get("last_update_time")) for e in exps.get("experiments", [])))
        body = {
            "experiment_ids": ids,
            "max_results": 1,
            "run_view_type": "ALL",
            "order_by": ["attributes.start_time DESC"],
        }
        newest = self._call("runs/search", "POST", body).get("runs", [])
        live = self._call(
            "runs/search",
            "POST",
            {**body, "filter": "attributes.status = 'RUNNING'", "max_results": 1},
        ).get("runs", [])
        models = self._call(
            "registered-models/search", "GET", {"max_results": 1, "order_by": ["last_updated_timestamp DESC"]}
        ).get("registered_models", [])
        tick = int(time.time() / PROBE_INTERVAL) if live else 0  # live runs change without a trace: poll them
        head = [(r["info"]["run_id"], r["info"].get("end_time"), r["info"].get("lifecycle_stage")) for r in newest]
        return (stamps, head, [(m["name"], m.get("last_updated_timestamp")) for m in models], tick)

    # -- experiments ------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        name = v.validate_experiment_name(name)
        clean = v.validate_tag_dict(tags)
        body: dict[str, Any] = {"name": name, "tags": [{"key": k, "value": val} for k, val in clean.items()]}
        if artifact_location:
            body["artifact_location"] = artifact_location
        try:
            answer = self._call("experiments/create", "POST", body)
        except AlreadyExists:
            existing = self.get_experiment_by_name(name)
            state = (
                " (deleted: restore it with restore_experiment)"
                if existing is not None and existing.lifecycle_stage == LifecycleStage.DELETED
                else ""
            )
            where = f" with id {existing.experiment_id}" if existing is not None else ""
            raise AlreadyExists(f"Experiment {name!r} already exists{where}{state}.") from None
        self._changed()
        return str(answer["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        experiment_id = v.validate_experiment_id(experiment_id)
        try:
            answer = self._call("experiments/get", "GET", {"experiment_id": experiment_id})
        except NotFound:
            raise NotFound(
                f"No experiment with id {experiment_id!r} on {self.uri}. Use search_experiments() to list them."
            ) from None
        return c.experiment_from_json(answer["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        name = v.validate_experiment_name(name)
        try:
            answer = self._call("experiments/get-by-name", "GET", {"experiment_name": name})
        except NotFound:
            return None
        return c.experiment_from_json(answer["experiment"])

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        found: list[Experiment] = []
        token = None
        while True:
            body: dict[str, Any] = {"max_results": 1000, "view_type": _VIEW.get(view_type, "ACTIVE_ONLY")}
            if token:
                body["page_token"] = token
            answer = self._call("experiments/search", "POST", body)
            found.extend(c.experiment_from_json(e) for e in answer.get("experiments", []))
            token = answer.get("next_page_token")
            if not token:
                break
        return sorted(found, key=lambda e: int(e.experiment_id))

    def update_experiment(
        self,
        experiment_id: str,
        *,
        name: str | None = None,
        lifecycle_stage: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> Experiment:
        experiment_id = v.validate_experiment_id(experiment_id)
        if name is not None:
            name = v.validate_experiment_name(name)
        clean = v.validate_tag_dict(tags)
        if experiment_id == "0" and lifecycle_stage == LifecycleStage.DELETED:
            raise InvalidParameter("The Default experiment (id 0) cannot be deleted.")
        current = self.get_experiment(experiment_id)
        if name is not None and name != current.name:
            if self.get_experiment_by_name(name) is not None:
                raise AlreadyExists(f"Experiment {name!r} already exists.")
            self._call("experiments/update", "POST", {"experiment_id": experiment_id, "new_name": name})
        if lifecycle_stage is not None and lifecycle_stage != current.lifecycle_stage:
            verb = "delete" if lifecycle_stage == LifecycleStage.DELETED else "restore"
            self._call(f"experiments/{verb}", "POST", {"experiment_id": experiment_id})
        for key, value in clean.items():
            body = {"experiment_id": experiment_id, "key": key, "value": value}
            self._call("experiments/set-experiment-tag", "POST", body)
        self._changed()
        return self.get_experiment(experiment_id)

    # -- runs -------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int,
        tags: Sequence[RunTag],
        run_name: str,
    ) -> Run:
        experiment_id = v.validate_experiment_id(experiment_id)
        run_name = v.validate_run_name(run_name)
        clean = {v.validate_key(t.key, "tag key"): v.validate_tag_value(t.key, t.value) for t in tags}
        clean["mlflow.runName"] = run_name
        clean.setdefault("mlflow.user", user_id)
        body = {
            "experiment_id": experiment_id,
            "user_id": user_id,
            "start_time": int(start_time),
            "run_name": run_name,
            "tags": [{"key": k, "value": val} for k, val in clean.items()],
        }
        try:
            answer = self._call("runs/create", "POST", body)
        except NotFound:
            raise NotFound(f"No experiment with id {experiment_id!r}; create it with create_experiment.") from None
        except (InvalidState, InvalidParameter) as exc:
            if "deleted" in str(exc) or "active" in str(exc):
                raise InvalidState(
                    f"Experiment {experiment_id} is deleted; restore it before starting runs in it."
                ) from None
            raise
        doc = c.run_doc(answer["run"])
        self._remember(doc)
        self._changed()
        return run_from_doc(doc)

    def _remember(self, doc: dict[str, Any]) -> _RunState:
        state = _RunState(
            experiment_id=doc["experiment_id"],
            lifecycle_stage=doc["lifecycle_stage"],
            status=doc["status"],
            params=dict(doc["params"]),
            artifact_uri=doc["artifact_uri"],
            run_name=doc["run_name"],
            start_time=doc["start_time"],
            user_id=doc["user_id"],
            end_time=doc["end_time"],
        )
        with self._lock:
            old = self._runs.get(doc["run_id"])
            if (
                old is not None and not old.provisional
            ):  # params still buffered here are known before the server has them
                state.params = {**old.params, **state.params}
            self._runs[doc["run_id"]] = state
        return state

    def _state(self, run_id: str, writing: bool = False) -> _RunState:
        run_id = v.validate_run_id(run_id)
        state = self._runs.get(run_id)
        if state is None or (state.provisional and not writing):
            try:
                state = self._remember(self._fetch_run(run_id))
            except ServerUnavailable:
                if not writing:
                    raise
                # A write to a run this process has not seen, while the server is away: accept it and let the
                # server check it when the spooled data goes out, so that the user's code goes on.
                state = _RunState(run_id and "", LifecycleStage.ACTIVE, RunStatus.RUNNING, provisional=True)
                self._runs[run_id] = state
        return state

    def _fetch_run(self, run_id: str) -> dict[str, Any]:
        try:
            answer = self._call("runs/get", "GET", {"run_id": run_id})
        except NotFound:
            raise NotFound(f"Run {run_id!r} not found on {self.uri}.") from None
        return c.run_doc(answer["run"])

    def _settle(self, run_id: str | None) -> None:
        """Send the buffered writes a read must see (a server that is down makes the read fail later)."""
        if self._outbox.pending(run_id):
            self._outbox.flush(run_id)

    def update_run_info(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        run_id = v.validate_run_id(run_id)
        if status is not None and status not in RunStatus.ALL:
            raise InvalidParameter(f"Unknown run status {status!r}; use one of {', '.join(RunStatus.ALL)}.")
        if run_name is not None:
            run_name = v.validate_run_name(run_name)
        state = self._state(run_id, writing=True)
        body: dict[str, Any] = {"run_id": run_id}
        if status is not None:
            body["status"] = status
        if run_name is not None:
            body["run_name"] = run_name
        final = status is not None and RunStatus.is_terminated(status)
        if final:
            body["end_time"] = int(end_time or time.time() * 1000)
            self._upload_pending(run_id)
        elif status == RunStatus.RUNNING:
            body["end_time"] = None
        sent = self._outbox.flush(run_id)
        if sent:
            try:
                answer = self._call("runs/update", "POST", body)
            except ServerUnavailable:
                sent = False
            else:
                info = answer.get("run_info", {})
                state.status = str(info.get("status", status or state.status))
        if not sent:
            self._outbox.add_call(run_id, "runs/update", body)  # spooled after the run's data
        if status is not None:
            state.status = status
        if run_name is not None:
            state.run_name = run_name
        if final:
            state.end_time = body["end_time"]
        self._changed()
        return RunInfo(
            run_id=run_id,
            experiment_id=state.experiment_id,
            run_name=state.run_name,
            user_id=state.user_id,
            status=state.status,
            start_time=state.start_time,
            end_time=state.end_time,
            artifact_uri=state.artifact_uri,
            lifecycle_stage=state.lifecycle_stage,
        )

    def get_run(self, run_id: str) -> Run:
        run_id = v.validate_run_id(run_id)
        self._settle(run_id)
        doc = self._fetch_run(run_id)
        self._remember(doc)
        return run_from_doc(doc)

    def set_run_lifecycle(self, run_id: str, lifecycle_stage: str) -> None:
        state = self._state(run_id)
        self._settle(run_id)
        verb = "delete" if lifecycle_stage == LifecycleStage.DELETED else "restore"
        self._call(f"runs/{verb}", "POST", {"run_id": run_id})
        state.lifecycle_stage = lifecycle_stage
        self._changed()

    def _writable(self, run_id: str) -> _RunState:
        state = self._state(run_id, writing=True)
        if state.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidState(f"Run {run_id!r} is deleted; restore it with restore_run before logging to it.")
        return state

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        state = self._writable(run_id)
        new_params: list[Param] = []
        seen: dict[str, str] = {}
        for p in params:
            key = v.validate_key(p.key, "param key")
            value = v.validate_param_value(key, p.value)
            old = state.params.get(key, seen.get(key))
            if old is not None and old != value:
                raise InvalidParameter(
                    f"Changing param values is not allowed. Param with key={key!r} was already logged "
                    f"with value={old!r} for run ID={run_id!r}. Attempted logging new value {value!r}."
                )
            if old is None:
                seen[key] = value
                new_params.append(Param(key, value))
        new_tags = []
        for t in tags:
            key = v.validate_key(t.key, "tag key")
            new_tags.append(RunTag(key, v.validate_tag_value(key, t.value)))
        new_metrics = []
        for m in metrics:
            key = v.validate_key(m.key, "metric key")
            new_metrics.append(Metric(key, v.validate_metric_value(key, m.value), int(m.timestamp), int(m.step)))
        if new_params or new_tags or new_metrics:
            state.params.update(seen)
            self._outbox.add(run_id, new_metrics, new_params, new_tags)
            self._changes += 1

    def log_metric(self, run_id: str, metric: Metric) -> None:
        # The hot path of a training loop: validate and append to the buffer.
        state = self._runs.get(run_id)
        if state is None or state.lifecycle_stage != LifecycleStage.ACTIVE:
            self.log_batch(run_id, metrics=(metric,))
            return
        key = v.validate_key(metric.key, "metric key")
        value = v.validate_metric_value(key, metric.value)
        self._outbox.add(run_id, [Metric(key, value, int(metric.timestamp), int(metric.step))], [], [])
        self._changes += 1

    def delete_tag(self, run_id: str, key: str) -> None:
        self._writable(run_id)
        key = v.validate_key(key, "tag key")
        self._settle(run_id)
        try:
            self._call("runs/delete-tag", "POST", {"run_id": run_id, "key": key})
        except NotFound:
            raise NotFound(f"No tag {key!r} on run {run_id!r}.") from None
        self._changed()

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self._writable(run_id)
        items = []
        for item in datasets:
            if not isinstance(item, DatasetInput):
                raise InvalidParameter(f"log_inputs takes DatasetInput objects, got {type(item).__name__}.")
            items.append(c.input_json(item))
        if not items:
            return
        body = {"run_id": run_id, "datasets": items}
        try:
            self._settle(run_id)
            self._call("runs/log-inputs", "POST", body)
        except ServerUnavailable as exc:
            self._outbox.add_call(run_id, "runs/log-inputs", body)
            self._outbox.went_down(exc)
        self._changed()

    def dataset_inputs(self, run_id: str) -> list[DatasetInput]:
        """The datasets recorded on a run."""
        return list(self.get_run(run_id).inputs.dataset_inputs)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        run_id = v.validate_run_id(run_id)
        key = v.validate_key(key, "metric key")
        self._settle(run_id)
        out: list[Metric] = []
        token = None
        while True:
            body: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": 25_000}
            if token:
                body["page_token"] = token
            try:
                answer = self._call("metrics/get-history", "GET", body)
            except NotFound:
                raise NotFound(f"Run {run_id!r} not found on {self.uri}.") from None
            out.extend(c.metric_from_json(m) for m in answer.get("metrics", []))
            token = answer.get("next_page_token")
            if not token:
                return out

    def get_metric_histories(self, run_id: str) -> dict[str, list[Metric]]:
        """Every metric's history of a run."""
        run = self.get_run(run_id)
        return {key: self.get_metric_history(run_id, key) for key in run.data.metrics}

    # -- search -----------------------------------------------------------
    def search_run_docs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        ids = [v.validate_experiment_id(e) for e in experiment_ids]
        predicate = compile_run_filter(filter_string)
        if order_by:
            sort_runs([], order_by)  # bad clauses raise before anything is fetched
        if max_results is not None and (not isinstance(max_results, int) or max_results < 0):
            raise InvalidParameter(f"max_results must be a non-negative integer, got {max_results!r}.")
        if not ids:
            return []
        self._settle(None)
        pushed = server_filter(filter_string)
        try:
            docs = self._fetch_runs(ids, pushed, run_view_type)
        except InvalidParameter:
            if not pushed:
                raise
            docs = self._fetch_runs(ids, "", run_view_type)  # the server reads it otherwise: finish it here
        if predicate is not None:
            docs = [d for d in docs if predicate(d)]
        if order_by:
            docs = sort_runs(docs, order_by)
        else:
            start_time = itemgetter("start_time")
            docs.sort(key=itemgetter("run_id"))
            docs.sort(key=start_time, reverse=True)
        self._number(docs)
        return docs if max_results is None else docs[:max_results]

    def _fetch_runs(self, ids: list[str], pushed: str, view_type: int) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        token = None
        while True:
            body: dict[str, Any] = {
                "experiment_ids": ids,
                "run_view_type": _VIEW.get(view_type, "ACTIVE_ONLY"),
                "max_results": PAGE,
            }
            if pushed:
                body["filter"] = pushed
            if token:
                body["page_token"] = token
            answer = self._call("runs/search", "POST", body)
            docs.extend(c.run_doc(r) for r in answer.get("runs", []))
            token = answer.get("next_page_token")
            if not token:
                return docs

    def _number(self, docs: list[dict[str, Any]]) -> None:
        """Give each document a change number ``_seq`` that grows whenever this process sees it change."""
        fresh = []
        for doc in docs:
            digest = hashlib.blake2b(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS), digest_size=8).digest()
            known = self._seqs.get(doc["run_id"])
            if known is not None and known[0] == digest:
                doc["_seq"] = known[1]
            else:
                fresh.append((doc, digest))
        fresh.sort(key=lambda pair: (pair[0]["start_time"], pair[0]["run_id"]))
        for doc, digest in fresh:
            self._next_seq += 1
            self._seqs[doc["run_id"]] = (digest, self._next_seq)
            doc["_seq"] = self._next_seq

    def run_info(self, run_id: str) -> RunInfo:
        """A run's info from the server."""
        return run_info_from_doc(self._fetch_run(v.validate_run_id(run_id)))


def close_all() -> None:
    """Send what every open server store buffers (at interpreter exit)."""
    for store in list(_open_stores):
        try:
            store.close(timeout=float(os.environ.get("NBTRACK_EXIT_FLUSH_TIMEOUT", "10")))
        except Exception:  # exiting: never raise from here
            pass


def flush_all() -> bool:
    """Send what every open server store buffers now; False if a server did not answer."""
    ok = True
    for store in list(_open_stores):
        ok = store.flush() and ok
    return ok


atexit.register(close_all)
__all__ = ["MlflowServerStore", "SpoolWarning", "close_all", "flush_all"]
