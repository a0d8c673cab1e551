"""Autolog's process-wide state: the active configuration and the nesting counters."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any


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
    def __init__(self) -> None:
        self.config: Config | None = None
        self.pid = os.getpid()
        # Inside a patched call (fit, predict, score, metric): nested calls only pass through.
        # Process-wide rather than per thread, so that fits in joblib's worker threads stay quiet.
        self.depth = 0
        # Inside cross-validation helpers or ``autolog_suspended()``.
        self.suspended = 0
        self.runs_with_fit: set[str] = set()

    def active(self) -> Config | None:
        """The configuration if autolog should act right now, else ``None``."""
        cfg = self.config
        if cfg is None or self.depth or self.suspended or os.getpid() != self.pid:
            return None
        return cfg


state = _State()
