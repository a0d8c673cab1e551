"""Autolog overhead: bare fit vs nbtrack autolog vs MLflow autolog, plus a parity check.

Run from the repository root (MLflow is optional; install the ``bench`` extra)::

    PYTHONPATH=. python benchmarks/autolog.py [--repeats 7]

Each autologger runs in its own fresh process (both patch scikit-learn classes
process-wide). After one warm-up fit, each process times ``--repeats`` pairs:
a fit with the autologger paused (nbtrack's ``autolog_suspended()``, MLflow's
``disable_autologging()``) and a logged fit. Overhead is the median of the
pairwise differences, which keeps a busy machine's drift out of the figure;
the same is reported for CPU time (all threads of the process plus the child
processes it waited for), which a machine shared with other jobs disturbs far
less than wall time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ESTIMATORS = ("RandomForestClassifier", "LogisticRegression")


def _estimator(name: str) -> Any:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    if name == "RandomForestClassifier":
        return RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0)
    return LogisticRegression(max_iter=1000)


def _cpu() -> float:
    """CPU seconds of this process (all threads) plus its finished child processes."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _worker(mode: str, name: str, repeats: int) -> dict[str, Any]:
    """Time ``repeats`` pairs of fits: one with the autologger paused (bare), one logged."""
    import contextlib

    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=5000, n_features=20, random_state=0)
    tmp = tempfile.mkdtemp(prefix="nbtrack-bench-")
    paused: Any = contextlib.nullcontext
    if mode == "nbtrack":
        os.environ["NBTRACK_STORE"] = str(Path(tmp) / "store")
        import nbtrack.sklearn

        nbtrack.sklearn.autolog()
        paused = nbtrack.sklearn.autolog_suspended
    elif mode == "mlflow":
        import logging

        import mlflow
        from mlflow.utils.autologging_utils import disable_autologging

        logging.getLogger("mlflow").setLevel(logging.ERROR)
        os.chdir(tmp)  # MLflow puts artifacts in ./mlruns beside a sqlite store
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
        mlflow.sklearn.autolog()
        paused = disable_autologging
    _estimator(name).fit(X, y)  # warm-up: imports, store creation, first run
    bare, logged, bare_cpu, logged_cpu, background = [], [], [], [], []
    for _ in range(repeats):
        model = _estimator(name)
        with paused():
            start, cpu = time.perf_counter(), _cpu()
            model.fit(X, y)
            bare.append(time.perf_counter() - start)
            bare_cpu.append(_cpu() - cpu)
        model = _estimator(name)
        start, cpu = time.perf_counter(), _cpu()
        model.fit(X, y)
        logged.append(time.perf_counter() - start)
        if mode == "nbtrack":  # the classifier plots, drawn after fit returned: counted in CPU, apart in wall time
            from nbtrack.tracking import pending

            waited = time.perf_counter()
            pending.wait()
            background.append(time.perf_counter() - waited)
        logged_cpu.append(_cpu() - cpu)
    result: dict[str, Any] = {
        "bare": statistics.median(bare),
        "logged": statistics.median(logged),
        "overhead": statistics.median(b - a for a, b in zip(bare, logged, strict=True)),
        "cpu_overhead": statistics.median(b - a for a, b in zip(bare_cpu, logged_cpu, strict=True)),
        "background": statistics.median(background) if background else 0.0,
    }
    if mode == "nbtrack":
        import nbtrack

        last = nbtrack.last_active_run()
        result.update(params=last.data.params, metrics=last.data.metrics)
    elif mode == "mlflow":
        import mlflow

        last = mlflow.last_active_run()
        result.update(params=dict(last.data.params), metrics=dict(last.data.metrics))
    return result


def _scenario(mode: str) -> dict[str, Any]:
    """Regressor, pipeline, grid search and post-training metrics under one autologger (models off)."""
    import sklearn.metrics
    from sklearn.datasets import load_diabetes, make_classification
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    tmp = tempfile.mkdtemp(prefix="nbtrack-parity-")
    if mode == "mlflow":
        import logging

        import mlflow as lib

        logging.getLogger("mlflow").setLevel(logging.ERROR)
        os.chdir(tmp)  # MLflow puts artifacts in ./mlruns beside a sqlite store
        lib.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    else:
        os.environ["NBTRACK_STORE"] = tmp
        import nbtrack as lib
        import nbtrack.sklearn
    lib.sklearn.autolog(log_models=False)
    X, y = load_diabetes(return_X_y=True)
    X_test, y_test = X[:50], y[:50]
    reg = LinearRegression().fit(X, y)
    sklearn.metrics.mean_squared_error(y_test, reg.predict(X_test))
    reg.score(X_test, y_test)
    Xc, yc = make_classification(n_samples=300, n_features=5, random_state=0)
    Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(Xc, yc)
    GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0, 10.0]}, cv=3).fit(Xc, yc)
    out: dict[str, Any] = {}
    for run in lib.search_runs(search_all_experiments=True, output_format="list"):
        key = run.data.tags["estimator_name"] + (" child" if "mlflow.parentRunId" in run.data.tags else "")
        metrics = {k: v for k, v in run.data.metrics.items() if "_time" not in k}  # timings differ by nature
        out.setdefault(key, []).append({"params": dict(run.data.params), "metrics": metrics})
    for runs in out.values():
        runs.sort(key=lambda r: json.dumps(r["params"], sort_keys=True))
    return out


def _run(mode: str, name: str, repeats: int) -> dict[str, Any]:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "PYTHONWARNINGS": "ignore"}
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", mode, name, "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{mode} worker failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _parity(nb: dict[str, Any], ml: dict[str, Any]) -> list[str]:
    problems = []
    if set(nb["params"]) != set(ml["params"]):
        problems.append(
            f"param keys differ: only nbtrack {sorted(set(nb['params']) - set(ml['params']))}, "
            f"only MLflow {sorted(set(ml['params']) - set(nb['params']))}"
        )
    for key in set(nb["params"]) & set(ml["params"]):
        if nb["params"][key] != ml["params"][key]:
            problems.append(f"param {key}: nbtrack {nb['params'][key]!r} vs MLflow {ml['params'][key]!r}")
    if set(nb["metrics"]) != set(ml["metrics"]):
        problems.append(
            f"metric names differ: only nbtrack {sorted(set(nb['metrics']) - set(ml['metrics']))}, "
            f"only MLflow {sorted(set(ml['metrics']) - set(nb['metrics']))}"
        )
    for key in set(nb["metrics"]) & set(ml["metrics"]):
        a, b = float(nb["metrics"][key]), float(ml["metrics"][key])
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            problems.append(f"metric {key}: nbtrack {a!r} vs MLflow {b!r}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "ESTIMATOR"))
    args = parser.parse_args()
    if args.worker:
        if args.worker[1] == "scenario":
            print(json.dumps(_scenario(args.worker[0]), default=str))
        else:
            print(json.dumps(_worker(args.worker[0], args.worker[1], args.repeats)))
        return
    try:
        import mlflow  # noqa: F401

        modes = ["nbtrack", "mlflow"]
    except ImportError:
        modes = ["nbtrack"]
        print("MLflow is not installed: measuring nbtrack only (pip install .[bench]).")
    print(
        f"make_classification(n_samples=5000, n_features=20); {args.repeats} pairs of fits per mode, each pair "
        "one fit with the autologger paused and one logged; overhead = median of the pairwise differences\n"
    )
    for name in ESTIMATORS:
        res = {mode: _run(mode, name, args.repeats) for mode in modes}
        nb = res["nbtrack"]
        print(name)
        for label, r in (("nbtrack", nb), ("MLflow", res.get("mlflow"))):
            if r is not None:
                print(
                    f"  {label + ':':8} bare {r['bare'] * 1000:8.1f} ms  logged {r['logged'] * 1000:8.1f} ms  "
                    f"overhead {r['overhead'] * 1000:7.1f} ms wall, {r['cpu_overhead'] * 1000:7.1f} ms CPU"
                    + (f", plots after fit {r['background'] * 1000:6.1f} ms" if r.get("background") else "")
                )
        if "mlflow" in res:
            ml = res["mlflow"]
            for kind, key in (("wall", "overhead"), ("CPU", "cpu_overhead")):
                ratio = nb[key] / ml[key] if ml[key] > 0 else float("nan")
                print(f"  ratio nbtrack/MLflow overhead ({kind}): {ratio:.3f} ({ratio * 100:.1f}%)")
            problems = _parity(nb, ml)
            if problems:
                print("  parity: DIFFERENCES")
                for line in problems:
                    print(f"    - {line}")
            else:
                print(
                    f"  parity: same {len(ml['params'])} param keys and values, "
                    f"same {len(ml['metrics'])} metric names, values within 1e-9"
                )
        print()
    if "mlflow" in modes:
        nb_runs, ml_runs = _run("nbtrack", "scenario", 0), _run("mlflow", "scenario", 0)
        print("Parity on LinearRegression + post-training metrics, Pipeline, GridSearchCV (parent and children):")
        if sorted(nb_runs) != sorted(ml_runs) or any(len(nb_runs[k]) != len(ml_runs[k]) for k in nb_runs):
            print(f"  runs differ: nbtrack {_shape(nb_runs)} vs MLflow {_shape(ml_runs)}")
        else:
            problems = [
                f"{k}: {p}" for k in nb_runs for a, b in zip(nb_runs[k], ml_runs[k], strict=True) for p in _parity(a, b)
            ]
            print(f"  runs: {_shape(nb_runs)}")
            print(
                "  "
                + ("; ".join(problems) if problems else "same param keys/values and metric names/values in every run")
            )


def _shape(runs: dict[str, list[Any]]) -> str:
    return ", ".join(f"{k} x{len(v)}" for k, v in sorted(runs.items()))


if __name__ == "__main__":
    main()
