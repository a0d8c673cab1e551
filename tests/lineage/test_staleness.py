"""The staleness verdict: a slice cell changed, a needed variable redefined, a slice cell deleted."""

from __future__ import annotations

from nbtrack.lineage.session import Session
from nbtrack.lineage.staleness import Monitor, Watch, initial_verdict, snippet


def _watched(*cells: tuple[str, str]) -> tuple[Session, Monitor, Watch]:
    session = Session()
    for count, (cell_id, source) in enumerate(cells, start=1):
        session.record(source, count, cell_id, ended=100.0 + count)
    monitor = Monitor()
    watch = Watch.of("run-1", session.slice(len(session) - 1))
    monitor.add(watch)
    return session, monitor, watch


CELLS = (
    ("imports", "import pandas as pd"),
    ("split", "X_train = pd.Series([1, 2, 3])\nunused = 0"),
    ("peek", "X_train.head()"),
    ("fit", "%%track\nmodel = X_train.sum()"),
)


def test_a_slice_cell_re_run_with_different_code_makes_the_run_stale() -> None:
    session, monitor, watch = _watched(*CELLS)
    later = session.record("X_train = pd.Series([1, 2, 3, 4])\nunused = 0", 5, "split")
    assert monitor.on_execution(later) == [watch]
    assert watch.stale
    assert watch.reason == "cell [2] `X_train = ...` changed after this run (re-run as [5])"


def test_re_running_the_same_code_is_not_a_change() -> None:
    session, monitor, watch = _watched(*CELLS)
    assert monitor.on_execution(session.record(CELLS[1][1], 5, "split")) == []
    assert monitor.on_execution(session.record("import pandas as pd", 6, "other-imports")) == []
    assert monitor.on_execution(session.record(CELLS[3][1], 7, "fit")) == []
    assert not watch.stale


def test_a_needed_variable_redefined_elsewhere_makes_the_run_stale() -> None:
    session, monitor, watch = _watched(*CELLS)
    assert monitor.on_execution(session.record("scratch = 1", 5, "scratch")) == []
    monitor.on_execution(session.record("X_train.dropna(inplace=True)", 6, "clean"))
    assert watch.reason == (
        "`X_train` (from cell [2] `X_train = ...`) was redefined by cell [6] `X_train.dropna(inplace=True)` "
        "after this run"
    )


def test_redefining_what_the_slice_did_not_need_changes_nothing() -> None:
    session, monitor, watch = _watched(*CELLS)
    monitor.on_execution(session.record("unused = 5\nmodel = None", 5, "scratch"))
    assert not watch.stale


def test_a_stale_run_keeps_its_first_reason() -> None:
    session, monitor, watch = _watched(*CELLS)
    monitor.on_execution(session.record("X_train = None", 5, "x"))
    first = watch.reason
    assert monitor.on_execution(session.record("pd = None", 6, "y")) == []
    assert watch.reason == first


def test_a_deleted_slice_cell_makes_the_run_stale_once_the_notebook_is_saved() -> None:
    _session, monitor, watch = _watched(*CELLS)
    saved = {"imports", "peek", "fit"}
    assert monitor.on_saved(saved, saved_at=100.5) == []  # saved before the cell ran: it simply was not there yet
    assert monitor.on_saved(saved, saved_at=200.0) == [watch]
    assert watch.reason == "cell [2] `X_train = ...` is no longer in the saved notebook"


def test_a_notebook_without_cell_ids_tells_nothing() -> None:
    _session, monitor, _watch = _watched(*CELLS)
    assert monitor.on_saved(set(), saved_at=200.0) == []


def test_a_slice_cell_edited_before_the_run_is_stale_from_the_start() -> None:
    session = Session()
    session.record("data = [1, 2]\nlabel = 'a'", 1, "load")
    session.record("data = [1, 2]\nlabel = 'b'", 2, "load")  # edited: still defines data? yes, so it is the source
    session.record("total = sum(data)", 3, "sum")
    assert initial_verdict(session.slice(2), session.executions) is None
    session = Session()
    session.record("data = [1, 2]", 1, "load")
    session.record("label = 'b'", 2, "load")  # the cell no longer shows `data = ...`
    session.record("total = sum(data)", 3, "sum")
    reason = initial_verdict(session.slice(2), session.executions)
    assert reason == "cell [1] `data = ...` changed before this run (re-run as [2])"


def test_snippets_quote_the_defining_statement() -> None:
    assert snippet("import os\nX_train, X_test = split(data)", "X_test") == "X_train, X_test = ..."
    assert snippet("total += 1") == "total += ..."
    assert snippet("%%track\nfor i in range(3):\n    pass") == "for i in range(3):"
    assert snippet("print('a very long line that goes on and on and on and on')").endswith(" ...")
