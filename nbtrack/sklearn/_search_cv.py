"""GridSearchCV / RandomizedSearchCV: ``best_*`` params, ``best_cv_score``, child runs, ``cv_results.csv``."""

from __future__ import annotations

import logging
import numbers
import time
from typing import Any

from nbtrack.autolog.state import Config
from nbtrack.entities import DatasetInput, Metric, RunStatus, Tags
from nbtrack.sklearn._estimator import estimator_tags, is_search, param_list

_log = logging.getLogger("nbtrack.autolog")


def _rank_column(columns: list[str]) -> str | None:
    if "rank_test_score" in columns:
        return "rank_test_score"
    return next((c for c in columns if c.startswith("rank_test_")), None)


def child_rows(cv_results: dict[str, Any], max_tuning_runs: int | None) -> tuple[list[int], int]:
    """Indices of the candidates that get a child run (best rank first) and how many there are."""
    total = len(cv_results.get("params", []))
    rank = _rank_column(list(cv_results))
    order = list(range(total))
    if rank is not None:
        ranks = list(cv_results[rank])
        order.sort(key=lambda i: (ranks[i], i))
    if max_tuning_runs is None:
        return order, total
    return order[: max(0, int(max_tuning_runs))], total


def _message(logged: int, total: int) -> str:
    if logged >= total:
        return f"nbtrack autolog: logged all {total} candidates of the parameter search as child runs."
    if logged == 0:
        return (
            f"nbtrack autolog: logged the parameter search without child runs ({total} candidates left out; "
            "set max_tuning_runs to log some)."
        )
    return (
        f"nbtrack autolog: logged the {logged} best of {total} candidates of the parameter search as child runs "
        f"({total - logged} left out; autolog(max_tuning_runs=None) logs them all)."
    )


def log_search(
    client: Any, run_id: str, est: Any, train: DatasetInput | None, cfg: Config, metrics: dict[str, float]
) -> None:
    """Log a fitted search's results into its run ``run_id`` and create its child runs.

    ``metrics`` receives ``best_cv_score``; the caller logs it with the training metrics.
    """
    store = client
    best = getattr(est, "best_params_", None)
    if best:
        store.log_batch(run_id, params=param_list({f"best_{k}": val for k, val in best.items()}))
    if hasattr(est, "best_score_"):
        metrics["best_cv_score"] = float(est.best_score_)
    results = getattr(est, "cv_results_", None)
    if results is None:
        return
    rows, total = child_rows(results, cfg.max_tuning_runs)
    message = _message(len(rows), total)
    _log.info(message)
    if not cfg.silent:
        print(message)  # information, not a warning: stdout, so notebooks do not paint it as an error
    parent = client.get_run(run_id)
    seed = est.estimator
    base = seed.get_params(deep=not is_search(seed))
    tags = {
        **cfg.extra_tags,
        Tags.PARENT_RUN_ID: run_id,
        Tags.AUTOLOGGING: "sklearn",
        **estimator_tags(seed),
    }
    columns = [c for c in results if not c.startswith(("param", "split"))]
    for i in rows:
        child = client.create_run(parent.info.experiment_id, start_time=parent.info.start_time, tags=tags)
        cid = child.info.run_id
        ts = int(time.time() * 1000)
        values: list[Metric] = []
        for col in columns:
            value = results[col][i]
            if isinstance(value, numbers.Number) and not isinstance(value, bool):
                values.append(Metric(col, float(value), ts, 0))  # type: ignore[arg-type]
        store.log_batch(cid, metrics=values, params=param_list({**base, **results["params"][i]}))
        if train is not None:
            store.log_inputs(cid, [train])
        client.set_terminated(cid, RunStatus.FINISHED)
    import pandas as pd

    from nbtrack.tracking import artifacts as _artifacts

    csv = pd.DataFrame.from_dict(results).to_csv(index=False)
    _artifacts.write_bytes(store.artifact_dir(run_id), "cv_results.csv", csv.encode())
