"""Fuzz the public Python API with bad and odd input; every error must be an ``NbtrackError``.

Usage::

    python benchmarks/fuzz_api.py [--calls 12000] [--seed 19]

Each call picks a public function (fluent API, client, registry, model loading) and fills its arguments from a pool
of hostile values (lone surrogates, 10**400, 2**63, NaN, numpy and pandas scalars, str subclasses, unhashable keys,
empty and folder paths, ``../`` paths, huge strings, odd types) mixed with valid ones. It prints how many calls
succeeded, how many raised an ``NbtrackError`` and how many raised anything else (the target is 0), with the first
examples of the latter. Runs in a temporary folder, which is also the store.
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import random
import sys
import tempfile
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import nbtrack
import nbtrack.sklearn
from nbtrack.errors import NbtrackError

Call = tuple[str, Callable[..., Any], int]


class Text(str):
    """A str subclass, as enums and some libraries hand out."""


def hostile_values(workdir: Path) -> list[Any]:
    """Values a careless user or an attacker passes where nbtrack expects a key, value, id, path or flag."""
    folder = workdir / "folder"
    folder.mkdir(exist_ok=True)
    (folder / "f.txt").write_text("x")
    return [
        None, "", " ", "k", "metric", "a/b", "\ud800", "ok\udfff", "\x00", "../up", "/abs", ".", "..", "a/",
        "x" * 300, "y" * 9000, "0", "-1", "99999999999999999999999", "Production", "runs:/x/model", "models:/M/1",
        "%", "name LIKE '%'", "metrics.m > 1", "a = 'b", Text("sub"), np.str_("np_key"),
        0, 1, -1, 2**63, -(2**63) - 1, 10**400, 3.5, -0.0, math.nan, math.inf, -math.inf, True, False, 1j,
        np.float64(0.5), np.float32(math.nan), np.int64(7), np.uint64(2**64 - 1), np.bool_(True), np.int8(-3),
        Decimal("1.25"), Decimal("NaN"), Decimal("sNaN"), Decimal("1e400"), pd.NA, pd.NaT, pd.Timestamp("2024-01-02"),
        [], ["a"], {}, {"a": 1}, {"\ud800": 1}, {np.str_("k"): np.float64(1.0)}, {("t",): 1}, {"k": [1]}, set(),
        (1, 2), b"bytes", bytearray(b"x"), object(), lambda: 0, Path(""), Path("."), folder, folder / "f.txt",
        folder / "missing.txt", str(folder), str(folder / "f.txt"), np.array([1.0, 2.0]), pd.Series([1]),
    ]  # fmt: skip


def public_calls() -> list[Call]:
    """``(name, function, number of positional arguments)`` of the API a notebook user calls."""
    client = nbtrack.tracking.MlflowClient()
    return [
        ("log_metric", nbtrack.log_metric, 2),
        ("log_metric+step", lambda k, v, s: nbtrack.log_metric(k, v, step=s), 3),
        ("log_metric+timestamp", lambda k, v, t: nbtrack.log_metric(k, v, timestamp=t), 3),
        ("log_metrics", nbtrack.log_metrics, 1),
        ("log_metrics+step", lambda m, s: nbtrack.log_metrics(m, step=s), 2),
        ("log_param", nbtrack.log_param, 2),
        ("log_params", nbtrack.log_params, 1),
        ("set_tag", nbtrack.set_tag, 2),
        ("set_tags", nbtrack.set_tags, 1),
        ("delete_tag", nbtrack.delete_tag, 1),
        ("log_text", nbtrack.log_text, 2),
        ("log_dict", nbtrack.log_dict, 2),
        ("log_artifact", nbtrack.log_artifact, 1),
        ("log_artifact+path", nbtrack.log_artifact, 2),
        ("log_artifacts", nbtrack.log_artifacts, 2),
        ("get_artifact_uri", nbtrack.get_artifact_uri, 1),
        ("start_run", lambda *a: nbtrack.start_run(*a), 1),
        ("start_run(tags)", lambda t: nbtrack.start_run(tags=t), 1),
        ("start_run(run_name)", lambda n: nbtrack.start_run(run_name=n), 1),
        ("start_run(nested)", lambda n: nbtrack.start_run(nested=n), 1),
        ("start_run(experiment_id)", lambda e: nbtrack.start_run(experiment_id=e), 1),
        ("start_run(description)", lambda d: nbtrack.start_run(description=d), 1),
        ("end_run", nbtrack.end_run, 1),
        ("set_experiment", nbtrack.set_experiment, 1),
        ("set_experiment(id)", lambda e: nbtrack.set_experiment(experiment_id=e), 1),
        ("create_experiment", nbtrack.create_experiment, 1),
        ("create_experiment+tags", lambda n, t: nbtrack.create_experiment(n, tags=t), 2),
        ("get_experiment", nbtrack.get_experiment, 1),
        ("get_experiment_by_name", nbtrack.get_experiment_by_name, 1),
        ("delete_experiment", nbtrack.delete_experiment, 1),
        ("restore_experiment", nbtrack.restore_experiment, 1),
        ("search_experiments", lambda f: nbtrack.search_experiments(filter_string=f), 1),
        ("search_experiments(max)", lambda m: nbtrack.search_experiments(max_results=m), 1),
        ("search_runs(filter)", lambda f: nbtrack.search_runs(filter_string=f, output_format="list"), 1),
        ("search_runs(order)", lambda o: nbtrack.search_runs(order_by=o, output_format="list"), 1),
        ("search_runs(max)", lambda m: nbtrack.search_runs(max_results=m, output_format="list"), 1),
        ("search_runs(ids)", lambda e: nbtrack.search_runs(experiment_ids=e), 1),
        ("search_runs(names)", lambda e: nbtrack.search_runs(experiment_names=e), 1),
        ("get_run", nbtrack.get_run, 1),
        ("delete_run", nbtrack.delete_run, 1),
        ("restore_run", nbtrack.restore_run, 1),
        ("get_metric_history", nbtrack.get_metric_history, 2),
        ("register_model", nbtrack.register_model, 2),
        ("search_model_versions", lambda f: nbtrack.search_model_versions(f), 1),
        ("search_registered_models", lambda f: nbtrack.search_registered_models(f), 1),
        ("load_model", nbtrack.sklearn.load_model, 1),
        ("load_model(trusted)", lambda u, t: nbtrack.sklearn.load_model(u, trusted=t), 2),
        ("client.log_metric", lambda r, k, v: client.log_metric(r, k, v), 3),
        ("client.log_param", lambda r, k, v: client.log_param(r, k, v), 3),
        ("client.set_tag", lambda r, k, v: client.set_tag(r, k, v), 3),
        ("client.log_batch", lambda r, m, p: client.log_batch(r, metrics=m, params=p), 3),
        ("client.create_run", lambda e, t: client.create_run(e, tags=t), 2),
        ("client.set_terminated", lambda r, s: client.set_terminated(r, s), 2),
        ("client.list_artifacts", lambda r, p: client.list_artifacts(r, p), 2),
        ("client.download_artifacts", lambda r, p: client.download_artifacts(r, p), 2),
        ("client.create_registered_model", lambda n: client.create_registered_model(n), 1),
        ("client.get_registered_model", lambda n: client.get_registered_model(n), 1),
        ("client.get_latest_versions", lambda n, s: client.get_latest_versions(n, s), 2),
        ("client.transition_stage", lambda n, v, s: client.transition_model_version_stage(n, v, s), 3),
        ("client.set_alias", lambda n, a, v: client.set_registered_model_alias(n, a, v), 3),
        ("client.get_by_alias", lambda n, a: client.get_model_version_by_alias(n, a), 2),
        ("client.delete_alias", lambda n, a: client.delete_registered_model_alias(n, a), 2),
        ("client.update_model_version", lambda n, v, d: client.update_model_version(n, v, d), 3),
        ("client.set_model_version_tag", lambda n, v, k, t: client.set_model_version_tag(n, v, k, t), 4),
        ("client.set_registered_model_tag", lambda n, k, t: client.set_registered_model_tag(n, k, t), 3),
        ("client.rename_registered_model", lambda n, m: client.rename_registered_model(n, m), 2),
        ("client.delete_model_version", lambda n, v: client.delete_model_version(n, v), 2),
    ]


def run(calls: int, seed: int) -> dict[str, Any]:
    """Make ``calls`` fuzzed calls; return the counts and the first non-Nbtrack errors."""
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="nbtrack-fuzz-"))
    os.chdir(workdir)
    store = workdir / "store"
    nbtrack.set_tracking_uri(str(store))
    # Something real to hit: a run, an experiment, a registered model with a version.
    from sklearn.linear_model import LogisticRegression

    with nbtrack.start_run() as base:
        nbtrack.log_metric("m", 1.0)
        nbtrack.sklearn.log_model(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), "model")
    nbtrack.register_model(f"runs:/{base.info.run_id}/model", "M")
    valid = ["k", "m", base.info.run_id, "0", "M", "1", "Production", "champion", str(workdir / "folder" / "f.txt")]
    pool = hostile_values(workdir)
    table = public_calls()
    counts: collections.Counter[str] = collections.Counter()
    escaped: list[str] = []
    by_type: collections.Counter[str] = collections.Counter()
    for i in range(calls):
        name, fn, arity = table[i % len(table)] if i < len(table) else rng.choice(table)
        args = [rng.choice(valid) if rng.random() < 0.35 else rng.choice(pool) for _ in range(arity)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(*args)
            counts["ok"] += 1
        except NbtrackError:
            counts["nbtrack_error"] += 1
        except Exception as exc:
            counts["other_error"] += 1
            key = f"{name}: {type(exc).__name__}"
            by_type[key] += 1
            if by_type[key] == 1 and len(escaped) < 40:
                escaped.append(f"{key}: {exc!s:.150} <- {[_short(a) for a in args]}")
        finally:
            if rng.random() < 0.05:
                while nbtrack.active_run() is not None:
                    nbtrack.end_run()
            if nbtrack.get_tracking_uri() != str(store):
                nbtrack.set_tracking_uri(str(store))
    while nbtrack.active_run() is not None:
        nbtrack.end_run()
    outside = [p for p in workdir.iterdir() if p.name not in ("store", "folder")]
    return {"counts": counts, "escaped": escaped, "by_type": by_type, "outside": outside}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "..."


def main() -> int:
    """Run the fuzz and print the figures; exit status 1 if any error was not an NbtrackError."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=12_000)
    parser.add_argument("--seed", type=int, default=19)
    opts = parser.parse_args()
    result = run(opts.calls, opts.seed)
    counts = result["counts"]
    total = sum(counts.values())
    print(f"calls: {total}")
    print(f"succeeded: {counts['ok']}")
    print(f"NbtrackError: {counts['nbtrack_error']}")
    print(f"other errors: {counts['other_error']}  (target 0)")
    for key, n in result["by_type"].most_common():
        print(f"  {n:6d}  {key}")
    for line in result["escaped"]:
        print("  e.g.", line)
    print(f"entries written beside the store: {len(result['outside'])}  {[p.name for p in result['outside']][:10]}")
    return 1 if counts["other_error"] else 0


if __name__ == "__main__":
    sys.exit(main())
