"""The server store as a user meets it: URIs, the fluent API, buffering, a server that goes away, auth."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from remote.mlflow_process import AUTH_PASSWORD, AUTH_USER, MlflowServer

import nbtrack
from nbtrack import config
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.store import clear_cache, get_store
from nbtrack.store.mlflow_server import PermissionDenied, SpoolWarning
from nbtrack.store.mlflow_server.store import MlflowServerStore


def _mlflow_client(url: str):  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=url)


# -- choosing the store ----------------------------------------------------------
def test_server_uris_select_the_server_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # http(s) and databricks URIs open a server store without contacting anything yet
    for uri in ("http://127.0.0.1:1", "https://tracking.example:8443/prefix", "databricks", "databricks://team"):
        assert isinstance(get_store(uri), MlflowServerStore), uri
    # MLFLOW_TRACKING_URI is honoured after NBTRACK_STORE
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert nbtrack.get_tracking_uri() == os.environ["NBTRACK_STORE"]
    monkeypatch.delenv("NBTRACK_STORE")
    config.reset()
    assert nbtrack.get_tracking_uri() == "http://127.0.0.1:1"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(tmp_path / "folder"))
    assert nbtrack.get_tracking_uri() == str(tmp_path / "folder")


@pytest.mark.parametrize("uri", ["sqlite:///mlflow.db", "postgresql://u@h/db", "s3://bucket/mlruns"])
def test_unserved_uris_say_what_to_use(uri: str) -> None:
    with pytest.raises(InvalidParameter, match="tracking server") as info:
        nbtrack.set_tracking_uri(uri)
    assert "nbtrack sync" in str(info.value)
    assert not Path("sqlite:").exists()


def test_missing_mlflow_names_the_pip_install_line(tmp_path: Path) -> None:
    # Given a Python where MLflow's client library cannot be imported
    code = textwrap.dedent(
        """
        import sys
        sys.modules["mlflow"] = None  # as if not installed
        import nbtrack
        try:
            nbtrack.set_tracking_uri("http://127.0.0.1:1")
            nbtrack.search_runs()
        except nbtrack.NbtrackError as exc:
            print("ERROR", exc)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(nbtrack.__file__).parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    )
    # Then the error names the extra to install, and importing nbtrack itself did not need MLflow
    assert 'pip install "nbtrack[server]"' in out.stdout, out.stdout + out.stderr


def test_importing_nbtrack_does_not_import_mlflow() -> None:
    code = "import nbtrack, sys; nbtrack.set_tracking_uri('memory:'); print('mlflow' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(nbtrack.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


# -- the fluent API on a server ------------------------------------------------------
def test_fluent_run_reaches_the_server_whole_when_end_run_returns(mlflow_server: MlflowServer) -> None:
    # Given nbtrack pointed at the server
    mlflow_server.reset()
    nbtrack.set_tracking_uri(mlflow_server.url)
    nbtrack.set_experiment("fluent")
    # When a run logs 250 params (more than one call's 100) and 2500 metric points
    with nbtrack.start_run(run_name="loop") as run:
        nbtrack.log_params({f"p{i}": i for i in range(250)})
        nbtrack.set_tags({"team": "ml", "stage": "dev"})
        for step in range(2500):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        nbtrack.log_text("hello", "notes/hello.txt")
    # Then MLflow's own client sees all of it as soon as the run has ended
    mlflow = _mlflow_client(mlflow_server.url)
    remote = mlflow.get_run(run.info.run_id)
    assert remote.info.status == "FINISHED"
    assert len(remote.data.params) == 250 and remote.data.params["p249"] == "249"
    assert remote.data.tags["team"] == "ml"
    history = mlflow.get_metric_history(run.info.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(2500))
    assert [f.path for f in mlflow.list_artifacts(run.info.run_id, "notes")] == ["notes/hello.txt"]
    # and nbtrack's search finds it with its own grammar
    frame = nbtrack.search_runs(filter_string="params.p1 = '1' or params.p1 = 'x'")
    assert list(frame["run_id"]) == [run.info.run_id]
    assert frame.loc[0, "metrics.loss"] == pytest.approx(1 / 2500)


def test_runs_logged_by_mlflow_are_read_by_nbtrack(mlflow_server: MlflowServer) -> None:
    mlflow_server.reset()
    mlflow = _mlflow_client(mlflow_server.url)
    exp = mlflow.create_experiment("from-mlflow")
    run = mlflow.create_run(exp, run_name="theirs")
    mlflow.log_param(run.info.run_id, "alpha", "0.5")
    for step in range(3):
        mlflow.log_metric(run.info.run_id, "rmse", 1.0 - step / 10, step=step)
    mlflow.set_terminated(run.info.run_id)
    client = nbtrack.TrackingClient(mlflow_server.url)
    got = client.get_run(run.info.run_id)
    assert (got.info.run_name, got.info.status, got.data.params) == ("theirs", "FINISHED", {"alpha": "0.5"})
    assert got.data.metrics == {"rmse": pytest.approx(0.8)}
    assert [m.step for m in client.get_metric_history(run.info.run_id, "rmse")] == [0, 1, 2]


def test_flush_sends_buffered_points_without_ending_the_run(mlflow_server: MlflowServer) -> None:
    mlflow_server.reset()
    nbtrack.set_tracking_uri(mlflow_server.url)
    with nbtrack.start_run() as run:
        for step in range(10):
            nbtrack.log_metric("m", step, step=step)
        assert nbtrack.flush() is True
        remote = _mlflow_client(mlflow_server.url).get_metric_history(run.info.run_id, "m")
        assert len(remote) == 10


# -- a server that goes away ------------------------------------------------------
def test_server_killed_and_restarted_mid_run_loses_no_point(killable_mlflow_server: MlflowServer) -> None:
    server = killable_mlflow_server
    server.reset()
    nbtrack.set_tracking_uri(server.url)
    run = nbtrack.start_run(run_name="through-an-outage")
    run_id = run.info.run_id
    for step in range(100):
        nbtrack.log_metric("loss", step, step=step)
    nbtrack.log_param("before", 1)
    assert nbtrack.flush()
    # When the server is killed mid-run, the training loop goes on undisturbed
    server.kill()
    for step in range(100, 300):
        nbtrack.log_metric("loss", step, step=step)
    nbtrack.log_param("during", 2)
    nbtrack.set_tag("outage", "yes")
    # and ending the run warns that the data waits locally instead of failing
    with pytest.warns(SpoolWarning, match="nothing is lost"):
        nbtrack.end_run()
    store = get_store(server.url)
    assert isinstance(store, MlflowServerStore)
    assert store.pending() > 0
    spooled = list((store.cache / "spool").glob("spool-*.jsonl"))
    assert spooled and spooled[0].stat().st_size > 0
    # When the server is back, the next flush sends everything, once
    server.start()
    server.wait()
    assert nbtrack.flush() is True
    assert store.pending() == 0
    assert not list((store.cache / "spool").glob("spool-*.jsonl"))
    mlflow = _mlflow_client(server.url)
    remote = mlflow.get_run(run_id)
    assert remote.info.status == "FINISHED"
    assert remote.data.params == {"before": "1", "during": "2"}
    assert remote.data.tags["outage"] == "yes"
    steps = [m.step for m in mlflow.get_metric_history(run_id, "loss")]
    assert sorted(steps) == list(range(300))  # every point, none twice


def test_points_spooled_by_a_process_that_exited_are_sent_by_the_next(
    killable_mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    server = killable_mlflow_server
    server.reset()
    run_id = nbtrack.TrackingClient(server.url).create_run("0", run_name="orphan").info.run_id
    server.kill()
    # Given a script that logs to a run while the server is down, then exits
    code = textwrap.dedent(
        f"""
        import warnings
        import nbtrack
        warnings.simplefilter("ignore")
        client = nbtrack.TrackingClient({server.url!r})
        for step in range(50):
            client.log_metric({run_id!r}, "m", float(step), step=step)
        client.set_terminated({run_id!r})
        print("done")
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(nbtrack.__file__).parents[1]),
        "NBTRACK_EXIT_FLUSH_TIMEOUT": "1",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and "done" in out.stdout, out.stderr
    # When the server is back and another process opens the store
    server.start()
    server.wait()
    clear_cache()
    store = get_store(server.url)
    assert isinstance(store, MlflowServerStore)
    assert store.flush() is True
    # Then the orphaned points and the run's end arrived
    mlflow = _mlflow_client(server.url)
    assert sorted(m.step for m in mlflow.get_metric_history(run_id, "m")) == list(range(50))
    assert mlflow.get_run(run_id).info.status == "FINISHED"


# -- authentication -------------------------------------------------------------------
def test_basic_auth_credentials_come_from_mlflow_settings(
    auth_mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:

    url = auth_mlflow_server.url
    # Without credentials the server refuses, and the error says what to set
    with pytest.raises(PermissionDenied, match="MLFLOW_TRACKING_USERNAME"):
        nbtrack.TrackingClient(url).search_experiments()
    clear_cache()
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", AUTH_USER)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", AUTH_PASSWORD)
    nbtrack.set_tracking_uri(url)
    nbtrack.set_experiment("secured")
    with nbtrack.start_run() as run:
        nbtrack.log_metric("acc", 0.9)
    assert nbtrack.get_run(run.info.run_id).data.metrics == {"acc": 0.9}
    # and a wrong password is refused the same way
    clear_cache()
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong")
    with pytest.raises(NbtrackError, match="refused"):
        nbtrack.TrackingClient(url).get_run(run.info.run_id)


def test_bad_input_never_reaches_the_server(mlflow_server: MlflowServer) -> None:
    mlflow_server.reset()
    client = nbtrack.TrackingClient(mlflow_server.url)
    run_id = client.create_run("0").info.run_id
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidParameter):
            client.log_metric(run_id, "bad!key", 1.0)
        client.log_metric(run_id, "ok", 1.0)
        client.set_terminated(run_id)
    assert _mlflow_client(mlflow_server.url).get_run(run_id).data.metrics == {"ok": 1.0}
