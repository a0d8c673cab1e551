"""Autolog's process-wide state: the active configuration and the nesting counters."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from nbtrack.tracking import state as tracking_state


@dataclass(frozen=True)
class Config:
    """The options of the last ``autolog()`` call."""

    log_models: bool = True
    log_datasets: bool = True
    log_post_training_metrics: bool = True
    max_tuning_runs: int | None = 5
    exclusive: bool = False
    silent: bool = False
    registered_model_name: str | None = None
    extra_tags: dict[str, str] = field(default_factory=dict)
    log_input_examples: bool = False
    log_model_signatures: bool = True
    pos_label: Any = None


class _State:
    """What autolog knows right now.

    ``depth`` (inside a patched call: fit, predict, score, a metric; nested calls only pass through) belongs to the
    calling thread, so a fit in a worker thread that holds a run of its own is logged to that run. A thread without
    a run of its own stays quiet while another thread is inside a patched call: that is how the worker threads of
    joblib (an ensemble's ``n_jobs``) behave, and their inner fits are not the user's. ``suspended`` (inside
    cross-validation helpers or ``autolog.suspended()``) is process-wide. In a forked child, autolog acts only
    inside a run the child started itself, so a library's forked workers never log runs of their own.
    """

    def __init__(self) -> None:
        self.config: Config | None = None
        self.pid = os.getpid()
        self.suspended = 0
        self.runs_with_fit: set[str] = set()
        self.busy = 0  # threads with depth > 0
        self._local = threading.local()
        self._lock = threading.Lock()

    @property
    def depth(self) -> int:
        """How deep the calling thread is inside patched calls."""
        return int(getattr(self._local, "depth", 0))

    @depth.setter
    def depth(self, value: int) -> None:
        old = self.depth
        self._local.depth = value
        if (old > 0) != (value > 0):
            with self._lock:
                self.busy += 1 if value > 0 else -1

    def active(self) -> Config | None:
        """The configuration if autolog should act right now, in this thread, else ``None``."""
        cfg = self.config
        if cfg is None or self.suspended or self.depth:
            return None
        # Another thread is inside a fit, or this is a forked child: act only in a run this thread holds.
        if (self.busy or os.getpid() != self.pid) and tracking_state.active_run_id() is None:
            return None
        return cfg


def _after_fork_in_child() -> None:
    state.busy = 0  # the threads that were inside a fit did not come along
    state._local = threading.local()
    state._lock = threading.Lock()


state = _State()
os.register_at_fork(after_in_child=_after_fork_in_child)
