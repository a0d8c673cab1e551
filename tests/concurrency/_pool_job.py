"""Programs the process-pool tests run in a fresh interpreter: ``python _pool_job.py <case> <store> <workers>``."""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor

import nbtrack

POINTS = 25


def train(i: int) -> str:
    """A worker's run: a param, a metric history and a tag; nested under the parent's run when there is one."""
    nested = bool(nbtrack.tracking.state.inherited_parent_id()) or "nested" in sys.argv
    with nbtrack.start_run(run_name=f"worker-{i}", nested=nested) as run:
        nbtrack.log_param("worker", i)
        for step in range(POINTS):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        nbtrack.set_tag("kind", "pool")
    return run.info.run_id


def train_nested(i: int) -> str:
    with nbtrack.start_run(run_name=f"worker-{i}", nested=True) as run:
        nbtrack.log_param("worker", i)
        for step in range(POINTS):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
    return run.info.run_id


def main() -> None:
    case, store, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    nbtrack.set_tracking_uri(store)
    nbtrack.set_experiment("pools")
    if case in ("fork", "spawn", "forkserver"):
        with multiprocessing.get_context(case).Pool(workers) as pool:
            ids = pool.map(train, range(workers * 2))
    elif case.startswith("nested-"):
        method = case.split("-", 1)[1]
        with nbtrack.start_run(run_name="parent") as parent:
            print("parent", parent.info.run_id)
            with multiprocessing.get_context(method).Pool(workers) as pool:
                ids = pool.map(train_nested, range(workers * 2))
    elif case == "executor":
        with ProcessPoolExecutor(workers) as pool:
            ids = list(pool.map(train, range(workers * 2)))
    elif case == "gridsearch":
        from sklearn.datasets import make_classification
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GridSearchCV

        X, y = make_classification(n_samples=150, n_features=5, random_state=0)
        nbtrack.sklearn.autolog(log_models=False, silent=True)
        search = GridSearchCV(LogisticRegression(max_iter=200), {"C": [0.1, 1.0, 10.0]}, cv=3, n_jobs=workers)
        search.fit(X, y)
        ids = [nbtrack.last_active_run().info.run_id]
    else:
        raise SystemExit(f"unknown case {case}")
    print("ids", " ".join(ids))


if __name__ == "__main__":
    main()
