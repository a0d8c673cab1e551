"""``%%track`` through a real IPython shell."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

import nbtrack
from nbtrack.magics import load_ipython_extension, unload_ipython_extension


def run(shell: Any, code: str, cell_id: str | None = None) -> Any:
    """Run a cell as a front end does: stored in history, with an optional cell id."""
    return shell.run_cell(code, store_history=True, cell_id=cell_id)


def runs() -> list[nbtrack.Run]:
    return nbtrack.search_runs(output_format="list", search_all_experiments=True)


def artifact(run: nbtrack.Run, name: str) -> str:
    return Path(nbtrack.MlflowClient().download_artifacts(run.info.run_id, name)).read_text()


def test_load_twice_is_harmless_and_unload_removes_the_magics(ip: Any) -> None:
    # Given the extension is loaded (by the fixture); When it is loaded again
    load_ipython_extension(ip)
    ip.run_line_magic("load_ext", "nbtrack")
    # Then one cell still gives exactly one run
    run(ip, "%%track\nx = 1")
    assert len(runs()) == 1
    # When it is unloaded
    unload_ipython_extension(ip)
    # Then the magics are gone and cells no longer create runs
    assert "track" not in ip.magics_manager.magics["cell"]
    assert "nbtrack" not in ip.magics_manager.magics["line"]
    assert not run(ip, "%%track\ny = 2").success
    assert len(runs()) == 1


def test_one_cell_is_one_finished_run_with_cell_context(ip: Any) -> None:
    # Given two ordinary cells ran before
    run(ip, "a = 10")
    run(ip, "b = a + 1")
    # When a tracked cell runs
    result = run(ip, "%%track baseline -e demo -t team=search -t note=a=b\nc = b * 2\nc")
    # Then it succeeded, displayed its value, and left one FINISHED run and no active run
    assert result.success and result.result == 22
    assert nbtrack.active_run() is None
    (only,) = runs()
    tags = only.data.tags
    assert only.info.status == "FINISHED"
    assert only.info.run_name == "baseline"
    assert nbtrack.get_experiment(only.info.experiment_id).name == "demo"
    assert tags["team"] == "search" and tags["note"] == "a=b"
    assert tags["nbtrack.cell_source"] == "c = b * 2\nc"
    assert tags["nbtrack.execution_count"] == "3"
    assert tags["nbtrack.notebook_path"] == "unknown"
    assert tags["nbtrack.state"] == ""
    assert float(tags["nbtrack.wall_time_s"]) >= 0
    assert artifact(only, "cell.py") == "c = b * 2\nc"
    history = artifact(only, "session_history.py")
    assert "# In[1]\na = 10\n" in history
    assert "# In[2]\nb = a + 1\n" in history
    assert history.index("# In[2]") < history.index("# In[3]\n%%track baseline")


def test_bad_arguments_raise_usage_error_with_usage_line(ip: Any) -> None:
    # When the tag has no "=" or an option is unknown
    for line in ("-t foo", "--bogus", "-e"):
        with pytest.raises(UsageError) as err:
            ip.run_cell_magic("track", line, "x = 1")
        # Then the error shows the usage line, and nothing ran
        assert "usage: %%track [-e experiment] [-t key=value]" in str(err.value).lower()
    assert "x" not in ip.user_ns
    assert runs() == []


def _traceback_text(ip: Any, capsys: pytest.CaptureFixture[str], code: str) -> str:
    capsys.readouterr()
    ip.execution_count = 7
    run(ip, code)
    return capsys.readouterr().out


def test_failing_cell_shows_the_same_traceback_as_without_the_magic(
    ip: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "def load(path):\n    raise FileNotFoundError(path)\n\nload('data.csv')"
    # When the same failing code runs with and without %%track (same execution count)
    plain = _traceback_text(ip, capsys, body)
    tracked = _traceback_text(ip, capsys, "%%track --quiet\n" + body)
    # Then the rendered tracebacks are identical and point at the user's lines only
    assert "FileNotFoundError" in plain and "load('data.csv')" in plain
    assert tracked == plain
    assert "magics.py" not in tracked and "run_cell_magic" not in tracked


def test_failing_cell_propagates_and_leaves_a_failed_run(ip: Any) -> None:
    # When a tracked cell raises
    result = run(ip, "%%track\nx = 1\nraise ValueError('bad <input>')")
    # Then the cell failed with the user's own exception and the run is FAILED with its type and message
    assert isinstance(result.error_in_exec, ValueError)
    assert str(result.error_in_exec) == "bad <input>"
    assert nbtrack.active_run() is None
    (only,) = runs()
    assert only.info.status == "FAILED"
    assert only.data.tags["nbtrack.exception_type"] == "ValueError"
    assert only.data.tags["nbtrack.exception_message"] == "bad <input>"


def test_syntax_error_fails_the_cell_and_the_run(ip: Any) -> None:
    result = run(ip, "%%track\nx = (1,")
    assert isinstance(result.error_before_exec, SyntaxError)
    (only,) = runs()
    assert only.info.status == "FAILED"
    assert only.data.tags["nbtrack.exception_type"] == "SyntaxError"


def test_keyboard_interrupt_marks_the_run_killed(ip: Any) -> None:
    result = run(ip, "%%track\nraise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    (only,) = runs()
    assert only.info.status == "KILLED"
    assert nbtrack.active_run() is None


def test_explicit_logging_goes_to_the_cell_run(ip: Any) -> None:
    run(ip, "%%track\nimport nbtrack\nnbtrack.log_param('lr', 0.1)\nnbtrack.log_metric('acc', 0.9)")
    (only,) = runs()
    assert only.data.params == {"lr": "0.1"}
    assert only.data.metrics == {"acc": 0.9}


def test_runs_the_cell_opens_are_all_closed(ip: Any) -> None:
    # When the cell leaves a nested run open
    run(ip, "%%track\nimport nbtrack\nchild = nbtrack.start_run(nested=True)")
    assert nbtrack.active_run() is None
    # When the cell ends the magic's run and starts one of its own
    run(ip, "%%track\nnbtrack.end_run()\nmine = nbtrack.start_run(run_name='mine')")
    assert nbtrack.active_run() is None
    statuses = {r.info.run_name: r.info.status for r in runs()}
    assert statuses["mine"] == "FINISHED"
    assert all(status == "FINISHED" for status in statuses.values())
    # When the cell ends the run itself and then fails
    run(ip, "%%track failing\nnbtrack.end_run()\n1 / 0")
    assert {r.info.run_name: r.info.status for r in runs()}["failing"] == "FAILED"
    assert nbtrack.active_run() is None


def test_nested_runs_under_the_active_run_and_refuses_without_nested(ip: Any) -> None:
    parent = nbtrack.start_run(run_name="parent")
    # Without --nested the cell does not run
    with pytest.raises(UsageError, match="--nested"):
        ip.run_cell_magic("track", "", "z = 1")
    assert "z" not in ip.user_ns
    # With --nested it is a child, and the parent stays active
    run(ip, "%%track child --nested\nz = 1")
    assert nbtrack.active_run() is not None and nbtrack.active_run().info.run_id == parent.info.run_id
    nbtrack.end_run()
    child = next(r for r in runs() if r.info.run_name == "child")
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_records_names_types_and_shapes_of_new_or_rebound_variables_never_values(ip: Any) -> None:
    run(ip, "import numpy as np\nkept = 1\nrebound = 'old'")
    run(ip, "%%track\nsecret = 'hunter2-value'\nrebound = [1, 2, 3]\nmatrix = np.zeros((4, 3))\n_private = 1")
    (only,) = runs()
    variables = json.loads(only.data.tags["nbtrack.cell_outputs"])
    by_name = {v["name"]: v for v in variables}
    assert set(by_name) == {"secret", "rebound", "matrix"}
    assert by_name["matrix"] == {"name": "matrix", "type": "numpy.ndarray", "shape": [4, 3]}
    assert by_name["rebound"] == {"name": "rebound", "type": "list", "len": 3}
    assert json.loads(artifact(only, "cell_variables.json")) == variables
    assert "hunter2" not in only.data.tags["nbtrack.cell_outputs"]
    assert "hunter2" not in artifact(only, "cell_variables.json")


def test_counts_stdout_and_stderr_bytes_without_swallowing_them(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run(ip, "%%track --quiet\nimport sys\nprint('héllo')\nprint('err', file=sys.stderr)")
    captured = capsys.readouterr()
    assert "héllo" in captured.out and "err" in captured.err
    (only,) = runs()
    assert only.data.tags["nbtrack.stdout_bytes"] == "7"
    assert only.data.tags["nbtrack.stderr_bytes"] == "4"


def test_quiet_hides_the_card(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run(ip, "%%track loud\nx = 1")
    assert "Run loud (" in capsys.readouterr().out
    run(ip, "%%track hushed --quiet\nx = 1")
    assert "hushed" not in capsys.readouterr().out


def test_re_running_an_earlier_cell_after_later_ones_is_flagged_out_of_order(ip: Any) -> None:
    train = "%%track\nmodel = 1"
    run(ip, train)  # In[1]
    run(ip, train)  # In[2]: re-run right away, still in order
    run(ip, "data = 2")  # In[3]
    run(ip, train)  # In[4]: re-runs In[2] after In[3]
    states = [
        r.data.tags["nbtrack.state"] for r in sorted(runs(), key=lambda r: int(r.data.tags["nbtrack.execution_count"]))
    ]
    assert states[0] == "" and states[1] == ""
    assert states[2].startswith("out of order: this cell ran before as In[2]")
    assert "In[3]" in states[2]


def test_out_of_order_by_cell_id_even_after_the_cell_was_edited(ip: Any) -> None:
    run(ip, "%%track\nmodel = 1", cell_id="cell-a")
    run(ip, "data = 2", cell_id="cell-b")
    run(ip, "%%track\nmodel = 3  # edited", cell_id="cell-a")
    latest = max(runs(), key=lambda r: int(r.data.tags["nbtrack.execution_count"]))
    assert latest.data.tags["nbtrack.cell_id"] == "cell-a"
    assert latest.data.tags["nbtrack.state"].startswith("out of order: this cell ran before as In[1]")


def test_cells_deleted_from_the_saved_notebook_are_flagged(
    ip: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = tmp_path / "analysis.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    run(ip, "old = 1", cell_id="gone")
    run(ip, "kept = 2", cell_id="kept")
    # When the front end saves the notebook without the first cell
    cells = [{"id": i, "cell_type": "code", "source": "", "metadata": {}, "outputs": []} for i in ("kept", "train")]
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    saved = time.time() + 1
    os.utime(notebook, (saved, saved))
    run(ip, "%%track\nx = 1", cell_id="train")
    (only,) = runs()
    assert only.data.tags["nbtrack.notebook_path"] == str(notebook)
    assert only.data.tags["nbtrack.state"] == (
        "deleted cells: In[1] ran in this kernel but are no longer in the notebook"
    )


def test_notebook_path_comes_from_vs_code_when_jupyter_does_not_say(ip: Any) -> None:
    ip.user_ns["__vsc_ipynb_file__"] = "/home/me/project/train.ipynb"
    run(ip, "%%track --quiet\nx = 1")
    (only,) = runs()
    assert only.data.tags["nbtrack.notebook_path"] == "/home/me/project/train.ipynb"


def test_a_failure_of_the_card_is_a_warning_not_a_failed_cell(
    ip: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from nbtrack.widgets import run_card

    def broken(self: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(run_card.RunCard, "refresh", broken)
    monkeypatch.setenv("NBTRACK_TESTING", "false")
    result = run(ip, "%%track\nx = 1")
    assert result.success
    assert "could not show the run card: OSError: disk gone" in caplog.text
    (only,) = runs()
    assert only.info.status == "FINISHED"


def test_quoted_run_name_experiment_and_tag_lose_their_quotes(ip: Any) -> None:
    run(ip, """%%track "<img src=x onerror=alert(1)>" -e 'my experiment' -t "note=two words" --quiet\nx = 1""")
    (only,) = runs()
    assert only.info.run_name == "<img src=x onerror=alert(1)>"
    assert nbtrack.get_experiment(only.info.experiment_id).name == "my experiment"
    assert only.data.tags["note"] == "two words"
    from nbtrack.widgets.run_card import RunCard

    page = RunCard(only.info.run_id).to_html()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_magic_called_from_code_records_its_own_body_and_reraises(ip: Any) -> None:
    # Called from a plain cell's code, the body is the magic's argument, and errors reach the caller
    run(ip, "get_ipython().run_cell_magic('track', '--quiet', 'inner = 5')")
    (only,) = runs()
    assert only.data.tags["nbtrack.cell_source"] == "inner = 5"
    assert ip.user_ns["inner"] == 5
    with pytest.raises(ZeroDivisionError):
        ip.run_cell_magic("track", "--quiet", "1 / 0")
    assert {r.info.status for r in runs()} == {"FINISHED", "FAILED"}
