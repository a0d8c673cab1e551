"""Registry fixtures: a finished run with a model folder in its artifacts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import nbtrack
from nbtrack.entities import Dataset, DatasetInput, InputTag

MakeRun = Callable[..., str]


@pytest.fixture
def make_model_run(client: nbtrack.TrackingClient) -> MakeRun:
    """Create a finished run holding ``<path>/MLmodel``; optionally with a train dataset input."""

    def make(path: str = "model", train_digest: str | None = None, text: str = "flavor: sklearn\n") -> str:
        run = client.create_run("0")
        run_id = run.info.run_id
        client.log_text(run_id, text, f"{path}/MLmodel")
        if train_digest is not None:
            dataset = Dataset(name="X_train", digest=train_digest)
            client.log_inputs(run_id, [DatasetInput(dataset, (InputTag("mlflow.data.context", "train"),))])
        client.set_terminated(run_id)
        return run_id

    return make
