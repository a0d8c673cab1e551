"""Overhead of ``%%track`` on a trivial cell in a real IPython shell.

A store holding 1,000 runs; scikit-learn imported so that autolog is on for the
tracked cells; the bare cell ``x = 1`` and the tracked cell ``%%track`` + ``x = 1``
run alternately (same shell, same history length), each stored in the history
like a notebook cell. Prints the medians side by side and the overhead.

    PYTHONPATH=. python benchmarks/magic.py [--repeats 200] [--profile]

Target: median overhead <= 15 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from typing import Any

TARGET_MS = 15.0


def _fill_store(n: int) -> None:
    import nbtrack

    for i in range(n):
        with nbtrack.start_run(run_name=f"seed-{i}"):
            nbtrack.log_params({"C": i % 7, "penalty": "l2"})
            nbtrack.log_metrics({"accuracy": (i % 100) / 100, "loss": 1 / (i + 1)})


def _time_cell(shell: Any, code: str) -> tuple[float, float]:
    """Wall and CPU seconds of one cell."""
    started, cpu = time.perf_counter(), time.process_time()
    result = shell.run_cell(code, store_history=True)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if not result.success:
        raise RuntimeError(f"benchmark cell failed: {result.error_in_exec or result.error_before_exec!r}")
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--runs", type=int, default=1000, help="runs already in the store")
    parser.add_argument("--store-dir", default=None, help="parent folder of the temporary store (e.g. /dev/shm)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the tracked cells")
    args = parser.parse_args()

    os.environ["NBTRACK_STORE"] = tempfile.mkdtemp(prefix="nbtrack-bench-", dir=args.store_dir)
    import sklearn  # noqa: F401  (autolog engages when scikit-learn is in use)
    from IPython.core.interactiveshell import InteractiveShell

    _fill_store(args.runs)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "nbtrack")
    variants = {"bare": "x = 1", "%%track": "%%track\nx = 1", "%%track --quiet": "%%track --quiet\nx = 1"}
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        for code in variants.values():  # warm up: imports, autolog patching, first card
            for _ in range(3):
                _time_cell(shell, code)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
        for _ in range(args.repeats):
            for name, code in variants.items():
                if profiler is not None and name != "bare":
                    profiler.enable()
                wall, used = _time_cell(shell, code)
                times[name].append(wall)
                cpu[name].append(used)
                if profiler is not None:
                    profiler.disable()
            sink.seek(0)
            sink.truncate()

    import nbtrack

    state = getattr(sys.modules.get("nbtrack.autolog.state"), "state", None)
    autolog = "on" if getattr(state, "config", None) is not None else "off (nbtrack.sklearn not available)"
    print(
        f"store: {nbtrack.get_tracking_uri()}, {len(nbtrack.search_runs(search_all_experiments=True))} runs; repeats: {args.repeats}; "
        f"autolog: {autolog}"
    )
    bare = statistics.median(times["bare"]) * 1000
    bare_cpu = statistics.median(cpu["bare"]) * 1000
    print(f"{'cell':<18}{'median ms':>10}{'p90 ms':>10}{'overhead ms':>13}{'CPU ms':>9}{'CPU overhead':>14}")
    for name, values in times.items():
        med = statistics.median(values) * 1000
        p90 = sorted(values)[int(len(values) * 0.9)] * 1000
        used = statistics.median(cpu[name]) * 1000
        overhead = "" if name == "bare" else f"{med - bare:.2f}"
        cpu_overhead = "" if name == "bare" else f"{used - bare_cpu:.2f}"
        print(f"{name:<18}{med:>10.2f}{p90:>10.2f}{overhead:>13}{used:>9.2f}{cpu_overhead:>14}")
    print("(wall time includes the store's fsyncs, which depend on disk load; CPU time does not)")
    worst = statistics.median(times["%%track"]) * 1000 - bare
    print(f"target: overhead <= {TARGET_MS:.0f} ms -> {'met' if worst <= TARGET_MS else 'NOT met'} ({worst:.2f} ms)")
    if profiler is not None:
        import pstats

        pstats.Stats(profiler).sort_stats("cumulative").print_stats("nbtrack|IPython.core.(display|formatters)", 40)


if __name__ == "__main__":
    main()
