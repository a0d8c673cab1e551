"""Re-running a run's slice in a fresh kernel, and comparing what it logs with the original.

:func:`reproduce` builds a notebook from the stored slice (a first cell points
nbtrack at the same store and experiment), executes it with nbclient on a new
kernel of this very Python, finds the run the slice's last cell started (a new
run, tagged ``nbtrack.reproduced_from``), and compares params, metrics, status
and the fingerprints of the data the model saw. Every failure says why: the cell
that raised, or what differs and the likely cause.
"""

from __future__ import annotations

import math
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.entities import Run, RunTag, Tags
from nbtrack.errors import InvalidParameter
from nbtrack.lineage import _magics
from nbtrack.lineage import record as rec
from nbtrack.tracking.client import TrackingClient

DEFAULT_TIMEOUT = 600


@dataclass(frozen=True)
class ReproduceResult:
    """Outcome of :func:`reproduce`.

    Attributes
    ----------
    source_run_id : str
        The run that was reproduced.
    run_id : str or None
        The new run (``None`` when the slice failed before starting one).
    matches : bool
        Params, metrics and status equal (metrics within the tolerance).
    diffs : list of dict
        What differs: ``{"kind": "param" | "metric" | "status" | "data", "key", "expected", "actual"}``.
    error : str or None
        Why it does not match (the cell that raised, or the likely cause of the differences).
    skipped : list of str
        Metrics of the source run logged after it ended (by later cells, e.g. test-set scores that
        autolog adds to a fitted model's run): not part of the slice, so not compared.
    """

    source_run_id: str
    run_id: str | None
    matches: bool
    diffs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return asdict(self)

    def __str__(self) -> str:
        if self.matches:
            return f"Run {self.source_run_id} reproduced exactly as run {self.run_id}."
        lines = [f"Run {self.source_run_id} did not reproduce: {self.error}"]
        lines += [f"  {d['kind']} {d['key']}: {d['expected']!r} -> {d['actual']!r}" for d in self.diffs]
        return "\n".join(lines)


def _same(expected: float, actual: float, rtol: float, atol: float) -> bool:
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    return expected == actual or math.isclose(expected, actual, rel_tol=rtol, abs_tol=atol)


def _datasets(run: Run) -> dict[str, str]:
    out = {}
    for item in run.inputs.dataset_inputs:
        context = next((t.value for t in item.tags if t.key == Tags.DATASET_CONTEXT), "")
        out[f"{item.dataset.name} ({context})" if context else item.dataset.name] = item.dataset.digest
    return out


def compare(
    source: Run, new: Run, rtol: float = 0.0, atol: float = 0.0, skip: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The differences between two runs' params, metrics, status and data fingerprints.

    Parameters
    ----------
    source, new : Run
        The original run and its reproduction.
    rtol, atol : float
        Relative and absolute tolerance on metric values (0: exactly equal).
    skip : frozenset of str
        Metric keys left out of the comparison.

    Returns
    -------
    list of dict
        ``{"kind", "key", "expected", "actual"}``; ``None`` stands for a missing value.
    """
    diffs: list[dict[str, Any]] = []
    if source.info.status != new.info.status:
        diffs.append({"kind": "status", "key": "status", "expected": source.info.status, "actual": new.info.status})
    for key in sorted(source.data.params.keys() | new.data.params.keys()):
        a, b = source.data.params.get(key), new.data.params.get(key)
        if a != b:
            diffs.append({"kind": "param", "key": key, "expected": a, "actual": b})
    for key in sorted((source.data.metrics.keys() | new.data.metrics.keys()) - skip):
        x, y = source.data.metrics.get(key), new.data.metrics.get(key)
        if x is None or y is None or not _same(x, y, rtol, atol):
            diffs.append({"kind": "metric", "key": key, "expected": x, "actual": y})
    before, after = _datasets(source), _datasets(new)
    for key in sorted(before.keys() & after.keys()):
        if before[key] != after[key]:
            diffs.append({"kind": "data", "key": key, "expected": before[key], "actual": after[key]})
    return diffs


def explain(diffs: list[dict[str, Any]]) -> str:
    """The likely cause of a list of differences, in one sentence."""
    kinds = {d["kind"] for d in diffs}
    if "data" in kinds:
        names = ", ".join(d["key"] for d in diffs if d["kind"] == "data")
        return (
            f"the data differs from the recorded fingerprint ({names}): the slice read data that has changed "
            "since (a file, a query) or drew it without a seed"
        )
    if "status" in kinds:
        status = next(d for d in diffs if d["kind"] == "status")
        return f"the run ended {status['actual']} instead of {status['expected']}"
    missing = [d["key"] for d in diffs if d["actual"] is None]
    if missing:
        return f"the reproduction did not log {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else "")
    params = [d["key"] for d in diffs if d["kind"] == "param"]
    if params:
        return f"{len(params)} param(s) differ ({', '.join(params[:5])}): the slice does not set them as the run did"
    metrics = [d["key"] for d in diffs if d["kind"] == "metric"]
    return (
        f"params and data match the recorded fingerprint but {len(metrics)} metric(s) differ "
        f"({', '.join(metrics[:5])}): the model or the split is not seeded (set random_state), "
        "or the run depends on state the slice does not rebuild"
    )


def _kernel_manager() -> Any:
    """A kernel manager that starts a kernel of the running Python (whatever kernels are installed)."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class CurrentPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str, *args: Any, **kwargs: Any) -> Any:
            argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            return KernelSpec(argv=argv, display_name="Python", language="python")

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=CurrentPython())


def replay_cells(slice_record: rec.SliceRecord, setup: str) -> list[tuple[str, bool]]:
    """``(source, may_raise)`` of each cell to run: the setup, then the slice (``%%track`` cells without their card)."""
    cells = [(setup, False)]
    for cell in slice_record.cells:
        source = cell.source
        split = _magics.split_cell_magic(source)
        if split is not None and split[0] == "track":
            first, _, body = source.lstrip().partition("\n")
            source = f"{first} --quiet\n{body}"
        cells.append((source, cell.failed))
    return cells


def _setup_code(client: TrackingClient, run: Run, uses_track: bool, final_count: int) -> str:
    lines = [
        "import nbtrack",
        "import nbtrack.lineage",
        "import nbtrack.lineage.replay",
        f"nbtrack.lineage.replay.only_last_cell_logs(get_ipython(), {final_count})",
        f"nbtrack.set_tracking_uri({client.tracking_uri!r})",
        f"nbtrack.set_experiment(experiment_id={run.info.experiment_id!r})",
        "nbtrack.lineage.install()",
    ]
    if uses_track:
        lines.append("get_ipython().run_line_magic('load_ext', 'nbtrack')")
    return "\n".join(lines)


def _workdir(slice_record: rec.SliceRecord, run: Run) -> Path:
    path = slice_record.notebook_path or run.data.tags.get(Tags.NOTEBOOK_PATH)
    if path and path != "unknown":
        folder = Path(path).expanduser().parent
        if folder.is_dir():
            return folder.resolve()
    return Path.cwd()


def _execute(cells: list[tuple[str, bool]], workdir: Path, session_name: str, timeout: int) -> tuple[int, str] | None:
    """Run the cells on a fresh kernel; ``(cell position, error)`` of the first unexpected failure, else ``None``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from nbtrack.lineage.notebook import _cell, notebook_json

    raw = [_cell("code", source, {"tags": ["raises-exception"]} if may_raise else {}) for source, may_raise in cells]
    from_dict: Any = nbformat.from_dict
    nb = from_dict(notebook_json(raw))
    env = {**os.environ, "JPY_SESSION_NAME": session_name}
    env.pop("NBTRACK_TESTING", None)
    client = NotebookClient(nb, timeout=timeout, km=_kernel_manager(), resources={"metadata": {"path": str(workdir)}})
    position = 0
    try:
        with client.setup_kernel(env=env, cwd=str(workdir)):
            for position, cell in enumerate(nb.cells):
                client.execute_cell(cell, position)
    except CellExecutionError as err:
        return position, f"raised {err.ename}: {err.evalue}"
    except CellTimeoutError:
        return position, f"did not finish within {timeout} s"
    except DeadKernelError as err:
        return position, f"killed the kernel ({err})"
    except Exception as err:  # the kernel could not start, ...
        return position, f"could not run: {type(err).__name__}: {err}"
    return None


def late_metrics(client: TrackingClient, run: Run) -> frozenset[str]:
    """Metrics of a run whose last value was logged after the run ended (by cells after the run's own)."""
    end = run.info.end_time
    if end is None:
        return frozenset()
    late = set()
    for key in run.data.metrics:
        history = client.get_metric_history(run.info.run_id, key)
        if history and max(m.timestamp for m in history) > end:
            late.add(key)
    return frozenset(late)


def _find_new_run(client: TrackingClient, started_ms: int, session_name: str, count: int, ordinal: int) -> Run | None:
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = [
        r
        for r in client.search_runs(experiments, filter_string=f"attributes.start_time >= {started_ms}")
        if r.data.tags.get(Tags.SOURCE_NAME) == session_name
        and r.data.tags.get(Tags.EXECUTION_COUNT) == str(count)
        and Tags.PARENT_RUN_ID not in r.data.tags
    ]
    runs.sort(key=lambda r: (r.info.start_time, r.info.run_id))
    return runs[ordinal] if ordinal < len(runs) else None


def reproduce(
    run_id: str,
    *,
    rtol: float = 0.0,
    atol: float = 0.0,
    timeout: int = DEFAULT_TIMEOUT,
    client: TrackingClient | None = None,
) -> ReproduceResult:
    """Run a run's slice in a fresh kernel as a new run and compare its params and metrics with the original.

    Parameters
    ----------
    run_id : str
        A run recorded by ``%%track`` (or a fit in a notebook where nbtrack is loaded).
    rtol, atol : float
        Relative and absolute tolerance on metric values; 0 (the default) asks for exactly equal values.
    timeout : int
        Seconds each cell may take.
    client : TrackingClient, optional
        The store to use; the fluent API's by default.

    Returns
    -------
    ReproduceResult
        ``matches`` and, when not, ``diffs`` and ``error`` (why).

    Raises
    ------
    NotFound
        No such run, or it has no recorded slice.
    InvalidParameter
        A negative tolerance, or an in-memory store (a fresh kernel cannot see it).
    """
    if rtol < 0 or atol < 0 or math.isnan(rtol) or math.isnan(atol):
        raise InvalidParameter(f"rtol and atol must be >= 0, got rtol={rtol!r}, atol={atol!r}.")
    if client is None:
        from nbtrack.lineage.recorder import _fluent_client

        client = _fluent_client()
    if client.tracking_uri.startswith("memory:"):
        raise InvalidParameter("reproduce runs the slice in another process, which cannot see an in-memory store.")
    source = client.get_run(run_id)
    slice_record = rec.load(client, run_id)
    if not slice_record.cells:
        raise InvalidParameter(f"The slice of run {run_id} has no cells.")
    uses_track = any((_magics.split_cell_magic(c.source) or ("",))[0] == "track" for c in slice_record.cells)
    final_count = len(slice_record.cells) + 1  # the setup cell runs first, as In[1]
    cells = replay_cells(slice_record, _setup_code(client, source, uses_track, final_count))
    workdir = _workdir(slice_record, source)
    session_name = str(workdir / f".nbtrack-reproduce-{run_id[:8]}-{uuid.uuid4().hex[:8]}.ipynb")
    started_ms = int(time.time() * 1000) - 1
    failure = _execute(cells, workdir, session_name, timeout)
    if failure is not None:
        position, what = failure
        if position == 0:
            return ReproduceResult(run_id, None, False, [], f"the setup cell {what}")
        original = slice_record.cells[position - 1]
        label = f"[{original.execution_count}]" if original.execution_count is not None else f"#{position}"
        return ReproduceResult(run_id, None, False, [], f"cell {label} of the slice {what}")
    new = _find_new_run(client, started_ms, session_name, len(cells), slice_record.ordinal)
    if new is None:
        return ReproduceResult(
            run_id, None, False, [], "the slice ran without error, but its last cell started no run to compare"
        )
    new_id = new.info.run_id
    skipped = late_metrics(client, source)
    diffs = compare(source, new, rtol, atol, skipped)
    client.log_batch(
        new_id,
        tags=[RunTag(rec.REPRODUCED_FROM, run_id), RunTag(rec.REPRODUCE_MATCHES, "false" if diffs else "true")],
    )
    return ReproduceResult(run_id, new_id, not diffs, diffs, explain(diffs) if diffs else None, sorted(skipped))
