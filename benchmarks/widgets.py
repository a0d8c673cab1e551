"""Widget speed: dashboard over 10,000 runs, metric chart of 50 runs x 1,000 steps, refresh after one run.

Run: ``PYTHONPATH=. python benchmarks/widgets.py``. Prints figures; targets are 1 s, 1 s and 100 ms
(median). Imports (ipywidgets, plotly) are warmed up first and reported on their own.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
import uuid

import nbtrack
from nbtrack.entities import Metric, Param
from nbtrack.tracking.client import TrackingClient

N_RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000


def bulk_runs(client: TrackingClient, n: int) -> None:
    """Write ``n`` finished runs with 4 metrics and 5 params in one store transaction."""
    template = client.create_run("0", run_name="template")
    client.log_batch(
        template.info.run_id,
        metrics=[Metric("loss", 0.5, 0, 0), Metric("accuracy", 0.9, 0, 0)],
        params=[Param("C", "1.0")],
    )
    client.set_terminated(template.info.run_id)
    store = client.store
    base = store.search_run_docs(["0"])[0]
    rng = random.Random(0)
    now = int(time.time() * 1000)
    with store._tx() as tx:  # setup only: one write instead of 10,000
        for i in range(n):
            run_id = uuid.uuid4().hex
            metrics = {
                "loss": rng.random(),
                "accuracy": rng.random(),
                "f1": rng.random(),
                "val_error": rng.random(),
            }
            doc = {
                **base,
                "run_id": run_id,
                "run_name": f"run-{i}",
                "start_time": now - i * 1000,
                "end_time": now - i * 1000 + 500,
                "artifact_uri": base["artifact_uri"].replace(template.info.run_id, run_id),
                "metrics": metrics,
                "metric_meta": {k: [now, 0] for k in metrics},
                "params": {
                    "C": str(rng.choice([0.1, 1.0, 10.0])),
                    "model": rng.choice(["rf", "lr", "gb"]),
                    "max_depth": str(rng.randint(2, 12)),
                    "seed": "0",
                    "n_estimators": str(rng.choice([50, 100, 200])),
                },
                "tags": {"mlflow.runName": f"run-{i}"},
            }
            doc.pop("_seq", None)
            tx.put("runs", run_id, doc)


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def report(label: str, samples: list[float], target_ms: float, base_label: str, base: list[float]) -> None:
    """Print the median against its target and against a baseline measured in the same run."""
    med, base_med = statistics.median(samples), statistics.median(base)
    runs = ", ".join(f"{x * 1000:.0f}" for x in samples)
    verdict = "meets" if med * 1000 <= target_ms else "MISSES"
    print(
        f"{label}: median {med * 1000:.1f} ms (runs {runs} ms) {verdict} target {target_ms:.0f} ms; "
        f"{med / base_med:.1f}x {base_label} ({base_med * 1000:.1f} ms)"
    )


def main() -> None:
    root = tempfile.mkdtemp(prefix="nbtrack-bench-")
    nbtrack.set_tracking_uri(root)
    client = TrackingClient(root)

    t_import, _ = timed(lambda: __import__("nbtrack.widgets"))
    from nbtrack.widgets import Dashboard, MetricsChart

    warm, d = timed(lambda: Dashboard(client=client, live=False))  # first widgets and plotly figures
    d.close()
    from nbtrack.widgets._common import FigureHost

    kind = "plotly FigureWidget" if FigureHost().live else "plotly Figure in an Output (no anywidget)"
    print(f"charts drawn with: {kind}")
    print(f"import nbtrack.widgets: {t_import:.2f} s; first (cold) empty dashboard: {warm:.2f} s (plotly imports)")

    t_setup, _ = timed(lambda: bulk_runs(client, N_RUNS))
    print(f"setup: {N_RUNS} runs written in {t_setup:.2f} s")

    builds = []
    for _ in range(3):
        client.store_version()
        secs, d = timed(lambda: Dashboard(client=client, live=False))
        builds.append(secs)
        if _ < 2:
            d.close()
    reads = [timed(lambda: client.search_run_docs(["0"]))[0] for _ in range(3)]
    report(f"dashboard over {len(d.table.view.rows)} runs", builds, 1000, "one raw read of all run documents", reads)

    # refresh after one new run, as the live poll does
    refreshes = []
    for i in range(7):
        with nbtrack.start_run(run_name=f"new-{i}"):
            nbtrack.log_metric("loss", 0.1)
            nbtrack.log_param("C", "3.0")
        secs, _ = timed(lambda: d.poller.poll())
        refreshes.append(secs)
    reads = [timed(lambda: client.search_run_docs(["0"]))[0] for _ in range(3)]
    report("refresh after one new run", refreshes, 100, "one raw read of all run documents", reads)
    d.close()

    # metric chart: 50 runs x 1000 steps
    hroot = tempfile.mkdtemp(prefix="nbtrack-bench-h-")
    hclient = TrackingClient(hroot)
    ids = []
    for r in range(50):
        run = hclient.create_run("0", run_name=f"h-{r}")
        hclient.log_batch(
            run.info.run_id, metrics=[Metric("loss", 1.0 / (s + 1 + r), 1_700_000_000_000 + s, s) for s in range(1000)]
        )
        hclient.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    charts = []
    for _ in range(3):
        secs, chart = timed(lambda: MetricsChart(ids, "loss", client=hclient, max_runs=50, live=False))
        charts.append(secs)
        chart.close()
    raw = [timed(lambda: [hclient.store.get_metric_histories(i) for i in ids])[0] for _ in range(3)]
    report("metric chart 50 runs x 1000 steps", charts, 1000, "reading the 50 histories", raw)


if __name__ == "__main__":
    main()
