"""Two processes registering versions of one model at once on the file store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nbtrack

_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import nbtrack

    store, run_id, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    client = nbtrack.TrackingClient(store)
    while not go.exists():
        time.sleep(0.005)
    for _ in range(50):
        mv = nbtrack.register_model(f"runs:/{run_id}/model", "Churn", client=client)
        print(mv.version, flush=True)
    """
)


@pytest.mark.slow
def test_two_processes_registering_fifty_versions_each_get_one_to_hundred(tmp_path: Path) -> None:
    # Given a file store with a run holding a model folder
    store = str(tmp_path / "shared-store")
    client = nbtrack.TrackingClient(store)
    run_id = client.create_run("0").info.run_id
    client.log_text(run_id, "flavor: sklearn\n", "model/MLmodel")
    client.set_terminated(run_id)
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(nbtrack.__file__).parents[1]), *sys.path])}
    # When two processes register 50 versions each, started together
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), store, run_id, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    go.touch()
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    # Then each process saw distinct numbers, and the store holds exactly versions 1..100
    seen = [int(line) for out, _ in outputs for line in out.split()]
    assert sorted(seen) == list(range(1, 101))
    reader = nbtrack.TrackingClient(store)
    stored = [int(mv.version) for mv in reader.search_model_versions("name = 'Churn'")]
    assert sorted(stored) == list(range(1, 101))
    registrations = [e for e in reader.get_model_version_events("Churn") if e.action == "register"]
    assert sorted(int(e.version or 0) for e in registrations) == list(range(1, 101))
    assert [e.action for e in reader.get_model_version_events("Churn")].count("create_model") == 1
