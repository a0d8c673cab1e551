"""The runs table without any widget: columns, sorting, grouping, best values, deltas, one page of HTML."""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from nbtrack.entities import Tags
from nbtrack.store import paused_gc
from nbtrack.store.listing import RunListing
from nbtrack.widgets._columns import default_params
from nbtrack.widgets._common import esc, fmt_delta, fmt_duration, fmt_time, fmt_value, lower_is_better
from nbtrack.widgets._source import RunRow
from nbtrack.widgets._static import _metric_keys

BASE_COLUMNS = ("status", "name", "start_time", "duration")
# What build() derived for the last few (rows, settings): a second table over the same runs (a
# second dashboard in the kernel, a cell run again) copies it instead of sorting 10,000 rows again.
_BUILT: dict[tuple[Any, ...], dict[str, Any]] = {}
_BUILT_SIZE = 4
_DERIVED = (
    "all_params", "_param_values", "_param_count", "metric_keys", "param_keys", "folded_params", "best", "rows",
    "_sort_keys", "child_count", "depth",
)  # fmt: skip


def _copied(value: Any) -> Any:
    """A copy that insert() may change without touching the cached one (sets inside dicts included)."""
    if isinstance(value, dict):
        return {k: set(v) if isinstance(v, set) else v for k, v in value.items()}
    return list(value) if isinstance(value, list) else value


TABLE_STYLE = (
    "<style>"
    ".jp-nbtrack-RunsGrid th,.jp-nbtrack-RunsGrid td{padding:2px 8px;text-align:left;"
    "border-bottom:1px solid rgba(128,128,128,.3);white-space:nowrap}"
    ".jp-nbtrack-RunsGrid th{position:sticky;top:0;background:var(--jp-layout-color1,#fff)}"
    ".jp-nbtrack-RunsGrid tr.nbtrack-selected{background:rgba(66,133,244,.15)}"
    ".jp-nbtrack-RunsGrid tr.nbtrack-baseline{outline:2px solid rgba(66,133,244,.6)}"
    ".jp-nbtrack-RunsGrid .nbtrack-delta{color:#777}"
    ".jp-nbtrack-RunsGrid tbody tr{cursor:pointer;user-select:none}"
    ".jp-nbtrack-RunsGrid tbody tr:hover{background:rgba(66,133,244,.07)}"
    ".jp-nbtrack-RunsGrid th[data-col]{cursor:pointer}"
    ".jp-nbtrack-RunsGrid .nbtrack-swatch{display:inline-block;width:9px;height:9px;border-radius:2px;"
    "margin-right:5px;vertical-align:middle}"
    ".jp-nbtrack-RunsGrid .nbtrack-toggle{cursor:pointer;display:inline-block;width:1.1em;color:#57606a}"
    "</style>"
)


def cell_value(row: RunRow, column: str) -> Any:
    """The raw value of a column for a row (``None`` when the run lacks it)."""
    if column.startswith("metrics."):
        return row.metrics.get(column[8:])
    if column.startswith("params."):
        return row.params.get(column[7:])
    if column == "name":
        return row.name
    if column == "status":
        return row.status
    if column == "start_time":
        return row.start_time
    if column == "duration":
        return row.duration
    if column == "run_id":
        return row.run_id
    if column == "experiment":
        return row.experiment_id
    raise KeyError(column)


def common_listing(rows: list[RunRow]) -> tuple[RunListing | None, np.ndarray | None]:
    """The listing all ``rows`` were read from and their positions in it, or ``(None, None)``."""
    if not rows:
        return None, None
    listing = rows[0].listing
    if listing is None or any(r.listing is not listing for r in rows):
        return None, None
    return listing, np.fromiter((r.position for r in rows), dtype=np.int64, count=len(rows))


def metric_values(
    rows: list[RunRow], key: str, common: tuple[RunListing | None, np.ndarray | None] | None = None
) -> list[float]:
    """The values of a metric among ``rows`` (runs without it and NaN left out); ``common``: their :func:`common_listing`."""
    listing, positions = common if common is not None else common_listing(rows)
    if listing is None or positions is None:
        return [v for r in rows if (v := r.metrics.get(key)) is not None and v == v]  # v == v drops NaN
    values = listing.metric(key)
    if values is None:
        return []
    picked = values[positions]
    found: list[float] = picked[~np.isnan(picked)].tolist()
    return found


def _listing_key(row: RunRow) -> tuple[int, str]:
    """A row's place in the store's listing order: newest first, then by run id."""
    return (-row.start_time, row.run_id)


def _sort_key(value: Any) -> tuple[int, Any]:
    # Missing and NaN sort last, numbers before text; params that look like numbers compare as numbers.
    if value is None:
        return (3, 0)
    if isinstance(value, int | float):
        return (2, 0) if isinstance(value, float) and value != value else (0, value)
    try:
        return (0, float(value))
    except (TypeError, ValueError):
        return (1, str(value))


@dataclass
class TableView:
    """The state of the runs table and everything derived from it."""

    sort_column: str = "start_time"
    descending: bool = True
    diff_only: bool = False
    baseline: str | None = None
    directions: dict[str, bool] = field(default_factory=dict)  # metric -> lower is better
    rows: list[RunRow] = field(default_factory=list)
    metric_keys: list[str] = field(default_factory=list)
    param_keys: list[str] = field(default_factory=list)
    best: dict[str, float] = field(default_factory=dict)
    all_params: list[str] = field(default_factory=list)
    _param_values: dict[str, set[Any]] = field(default_factory=dict)
    _param_count: dict[str, int] = field(default_factory=dict)
    _sort_keys: list[Any] = field(default_factory=list)
    _built_for: tuple[Any, ...] = ()
    depth: dict[str, int] = field(default_factory=dict)
    chosen_params: list[str] | None = None  # the user's column choice; None: the defaults
    folded_params: list[str] = field(default_factory=list)
    collapsed: set[str] = field(default_factory=set)  # parents whose children are folded
    child_count: dict[str, int] = field(default_factory=dict)
    show_experiment: bool = False
    experiment_names: dict[str, str] = field(default_factory=dict)

    def lower_better(self, metric: str) -> bool:
        """Whether lower values of ``metric`` are better (user choice, else guessed from the name)."""
        choice = self.directions.get(metric)
        return lower_is_better(metric) if choice is None else choice

    @property
    def columns(self) -> list[str]:
        """Shown columns: the fixed ones, then ``metrics.*`` and ``params.*``."""
        return [
            *self.base_columns,
            *(f"metrics.{k}" for k in self.metric_keys),
            *(f"params.{k}" for k in self.param_keys),
        ]

    @property
    def base_columns(self) -> list[str]:
        """Status, name, (experiment when several are shown), start time, duration."""
        if self.show_experiment:
            return ["status", "name", "experiment", "start_time", "duration"]
        return list(BASE_COLUMNS)

    def all_columns(self) -> list[str]:
        """Every column the shown runs have, whatever the column choice."""
        return [
            *self.base_columns,
            *(f"metrics.{k}" for k in self.metric_keys),
            *(f"params.{k}" for k in self.all_params),
        ]

    def _choose_params(self, n: int) -> list[str]:
        shown, folded = default_params(self._param_values, self._param_count, n, differing_only=self.diff_only)
        if self.chosen_params is None:
            self.folded_params = folded
            return shown
        present = set(self._param_values)
        keys = [k for k in self.chosen_params if k in present]
        self.folded_params = [k for k in self.all_params if k not in keys]
        return keys

    def build(self, rows: list[RunRow]) -> None:
        """Recompute columns, order, grouping and best values for these (already filtered) rows.

        The same rows (the same row objects, as a shared :class:`RunSource` cache hands out) with
        the same settings reuse what an earlier build derived.
        """
        key = (self._settings(), frozenset(self.collapsed), tuple(map(id, rows)))
        done = _BUILT.get(key)
        if done is not None and done["_rows_in"] is not None and len(done["_rows_in"]) == len(rows):
            for name in _DERIVED:
                setattr(self, name, _copied(done[name]))
            self._built_for = self._settings()
            return
        self._build(rows)
        if len(_BUILT) >= _BUILT_SIZE:
            _BUILT.pop(next(iter(_BUILT)))
        # the rows are kept with the entry, so the ids in its key stay theirs
        _BUILT[key] = {"_rows_in": rows, **{name: _copied(getattr(self, name)) for name in _DERIVED}}

    def _build(self, rows: list[RunRow]) -> None:
        with paused_gc():  # sorting and grouping make a few objects per run; none hold cycles
            self._derive(rows)

    def _derive(self, rows: list[RunRow]) -> None:
        param_values: dict[str, set[Any]] = {}
        param_count: dict[str, int] = {}
        common = listing, positions = common_listing(rows)
        if listing is not None:  # counted column by column: no run's params dict is built
            for key, (count, values) in listing.value_counts("params", positions).items():
                param_values[key], param_count[key] = values, count
            counts = listing.key_counts("metrics", positions)
            self.metric_keys = sorted(counts, key=lambda k: (-counts[k], k))
        else:
            for row in rows:
                for key, value in row.params.items():
                    seen = param_values.get(key)
                    if seen is None:
                        param_values[key] = {value}
                        param_count[key] = 1
                    else:
                        seen.add(value)
                        param_count[key] += 1
            self.metric_keys = _metric_keys(rows)  # the metrics most runs share first
        self.all_params = sorted(param_values)
        self._param_values, self._param_count = param_values, param_count
        self.param_keys = self._choose_params(len(rows))
        self.best = self._best(rows, common)
        self.rows = self._grouped(self._sorted(rows, common))
        self._built_for = self._settings()

    def _settings(self) -> tuple[Any, ...]:
        chosen = None if self.chosen_params is None else tuple(self.chosen_params)
        return (self.sort_column, self.descending, self.diff_only, tuple(sorted(self.directions.items())), chosen)

    def insert(self, new_rows: list[RunRow]) -> bool:
        """Add runs to the built view without rebuilding it; ``False`` if a full :meth:`build` is needed."""
        if self._built_for != self._settings() or self.depth or any(r.parent_id for r in new_rows):
            return False
        for row in new_rows:
            for key, value in row.params.items():
                self._param_values.setdefault(key, set()).add(value)
                self._param_count[key] = self._param_count.get(key, 0) + 1
            for key, number in row.metrics.items():
                if number == number:  # not NaN
                    best = self.best.get(key)
                    lower = self.lower_better(key)
                    if best is None:
                        others = metric_values(self.rows, key)
                        if others:
                            self.best[key] = min(*others, number) if lower else max(*others, number)
                    elif number < best if lower else number > best:
                        self.best[key] = number
            self._insert_sorted(row)
        self.metric_keys = _metric_keys(self.rows)
        self.all_params = sorted(self._param_values)
        self.param_keys = self._choose_params(len(self.rows))
        return True

    def _insert_sorted(self, row: RunRow) -> None:
        # Where a full build would put the row: by the sort key (rows without one last), and among equal keys
        # in listing order (newest first, then by run id), which is the order a stable sort keeps for ties.
        key = self._key_of(row)
        keys, rows = self._sort_keys, self.rows
        tie = _listing_key(row)
        i, n = 0, len(keys)
        if key is not None:
            while i < n and keys[i] is not None and (keys[i] > key if self.descending else keys[i] < key):
                i += 1
        else:
            while i < n and keys[i] is not None:
                i += 1
        while i < n and keys[i] == key and _listing_key(rows[i]) < tie:
            i += 1
        keys.insert(i, key)
        rows.insert(i, row)

    def _best(self, rows: list[RunRow], common: tuple[RunListing | None, np.ndarray | None]) -> dict[str, float]:
        best: dict[str, float] = {}
        for key in self.metric_keys:
            values = metric_values(rows, key, common)
            if len(values) > 1:  # a metric only one run has is not "best" of anything
                best[key] = min(values) if self.lower_better(key) else max(values)
        return best

    def _key_of(self, row: RunRow) -> Any:
        """The sort key of a row, ``None`` when it has no value (such rows go last)."""
        column = self.sort_column
        if column.startswith("metrics."):
            v = row.metrics.get(column[8:])
            return v if v is not None and v == v else None
        if column == "start_time":
            return row.start_time
        try:
            k = _sort_key(cell_value(row, column))
        except KeyError:
            return None
        return k if k[0] < 2 else None

    def _sorted(self, rows: list[RunRow], common: tuple[RunListing | None, np.ndarray | None]) -> list[RunRow]:
        column = self.sort_column
        present: list[tuple[Any, RunRow]]
        listing, positions = common if column.startswith("metrics.") else (None, None)
        if listing is not None and positions is not None:  # by the metric's column, no metrics dict built
            values = listing.metric(column[8:])
            picked = values[positions] if values is not None else np.full(len(rows), np.nan)
            where = np.flatnonzero(~np.isnan(picked))
            where = where[np.argsort(-picked[where] if self.descending else picked[where], kind="stable")]
            keys = picked[where].tolist()
            present = [(k, rows[i]) for k, i in zip(keys, where.tolist(), strict=True)]
        elif column.startswith("metrics."):
            key = column[8:]
            present = [(v, r) for r in rows if (v := r.metrics.get(key)) is not None and v == v]
            present.sort(key=itemgetter(0), reverse=self.descending)
        elif column == "start_time":
            present = [(r.start_time, r) for r in rows]
            present.sort(key=itemgetter(0), reverse=self.descending)
        else:
            present = [(k, r) for r in rows if (k := self._key_of(r)) is not None]
            present.sort(key=itemgetter(0), reverse=self.descending)
        ordered = [r for _, r in present]
        self._sort_keys: list[Any] = [k for k, _ in present]
        if len(ordered) < len(rows):
            ids = {id(r) for r in ordered}
            absent = [r for r in rows if id(r) not in ids]
            ordered.extend(absent)
            self._sort_keys.extend([None] * len(absent))
        return ordered

    def _grouped(self, rows: list[RunRow]) -> list[RunRow]:
        """Put each child right under its parent (when the parent is shown), keeping the sort order."""
        ids = {r.run_id for r in rows}
        children: dict[str, list[RunRow]] = {}
        for row in rows:
            if row.parent_id and row.parent_id in ids and row.parent_id != row.run_id:
                children.setdefault(row.parent_id, []).append(row)
        self.child_count = {k: len(v) for k, v in children.items()}
        if not children:
            self.depth = {}
            return rows
        out: list[RunRow] = []
        depth: dict[str, int] = {}
        seen: set[str] = set()

        def emit(row: RunRow, level: int) -> None:
            if row.run_id in seen:
                return
            seen.add(row.run_id)
            out.append(row)
            depth[row.run_id] = level
            if row.run_id in self.collapsed:
                seen.update(self._descendants(row.run_id, children))
                return
            for child in children.get(row.run_id, ()):
                emit(child, level + 1)

        for row in rows:
            if not (row.parent_id and row.parent_id in ids):
                emit(row, 0)
        for row in rows:  # cycles or orphans: show them anyway
            emit(row, 0)
        self.depth = depth
        return out

    @staticmethod
    def _descendants(run_id: str, children: dict[str, list[RunRow]]) -> set[str]:
        found: set[str] = set()
        stack = [run_id]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child.run_id not in found:
                    found.add(child.run_id)
                    stack.append(child.run_id)
        return found

    # -- values shown ------------------------------------------------------
    def delta(self, row: RunRow, metric: str, baseline: RunRow | None) -> float | None:
        """``row``'s metric minus the baseline's, or ``None``."""
        if baseline is None or row.run_id == baseline.run_id:
            return None
        a = row.metrics.get(metric)
        b = baseline.metrics.get(metric)
        if a is None or b is None:
            return None
        return a - b

    def is_best(self, row: RunRow, metric: str) -> bool:
        """Whether ``row`` holds the best value of ``metric`` among the shown runs."""
        value = row.metrics.get(metric)
        return value is not None and self.best.get(metric) == value

    def cell_text(self, row: RunRow, column: str) -> str:
        """A cell as plain text (not escaped)."""
        if column == "start_time":
            return fmt_time(row.start_time)
        if column == "duration":
            return fmt_duration(row.duration)
        if column == "experiment":
            return self.experiment_names.get(row.experiment_id, row.experiment_id)
        return fmt_value(cell_value(row, column))

    def page_html(
        self,
        start: int,
        stop: int,
        baseline: RunRow | None,
        selected: set[str],
        color: Any = None,
        interactive: bool = True,
    ) -> str:
        """One page of rows as an HTML table (every user-named value escaped).

        Rows carry ``data-run`` and headers ``data-col`` so the live grid can turn clicks into
        selection and sorting; ``color(run_id)`` gives the swatch of each selected run.
        """
        columns = self.columns
        head = []
        for c in columns:
            arrow = (" ▼" if self.descending else " ▲") if c == self.sort_column else ""
            label = esc(c) + arrow
            if c.startswith("metrics."):
                label += " ↓" if self.lower_better(c[8:]) else " ↑"
            attr = f' data-col="{esc(c)}" title="sort by {esc(c)}"' if interactive else ""
            head.append(f"<th{attr}>{label}</th>")
        body = []
        for row in self.rows[start:stop]:
            classes = []
            if row.run_id in selected:
                classes.append("nbtrack-selected")
            if baseline is not None and row.run_id == baseline.run_id:
                classes.append("nbtrack-baseline")
            cells = []
            for c in columns:
                text = esc(self.cell_text(row, c))
                style = ""
                if c == "name":
                    level = self.depth.get(row.run_id, 0)
                    if color is not None and row.run_id in selected:
                        text = (
                            f'<span class="nbtrack-swatch" style="background:{esc(color(row.run_id))}"></span>' + text
                        )
                    n_children = self.child_count.get(row.run_id)
                    if n_children:
                        folded = row.run_id in self.collapsed
                        mark = "▸" if folded else "▾"
                        toggle = f' data-toggle="{esc(row.run_id)}"' if interactive else ""
                        text = (
                            f'<span class="nbtrack-toggle"{toggle} title="{"show" if folded else "hide"} child runs">'
                            f"{mark}</span>{text} <span class='nbtrack-delta'>({n_children})</span>"
                        )
                    if level:
                        text = "&nbsp;&nbsp;&nbsp;" * level + "↳ " + text
                    if baseline is not None and row.run_id == baseline.run_id:
                        text += " <em>(baseline)</em>"
                    if row.tags.get(Tags.STALE) == "true":
                        reason = row.tags.get(Tags.STALE_REASON) or "its code changed after this run"
                        text += (
                            f' <span class="nbtrack-stale" title="{esc(reason)}" style="color:#9a6700">⚠ stale</span>'
                        )
                elif c.startswith("metrics."):
                    key = c[8:]
                    d = self.delta(row, key, baseline)
                    if d is not None:
                        text += f' <span class="nbtrack-delta">({esc(fmt_delta(d))})</span>'
                    if self.is_best(row, key):
                        style = ' class="nbtrack-best" style="font-weight:bold;background:#c8f0c8"'
                cells.append(f"<td{style}>{text}</td>")
            cls = f' class="{" ".join(classes)}"' if classes else ""
            data = f' data-run="{esc(row.run_id)}"' if interactive else ""
            body.append(f"<tr{cls}{data}>{''.join(cells)}</tr>")
        return (
            f'{TABLE_STYLE}<table class="jp-nbtrack-RunsGrid" style="border-collapse:collapse;font-size:12px">'
            f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    def records(self, baseline: RunRow | None) -> list[dict[str, Any]]:
        """The shown rows as dicts (raw values; ``Δ metrics.*`` columns when a baseline is set)."""
        out = []
        for row in self.rows:
            rec: dict[str, Any] = {"run_id": row.run_id}
            for c in self.columns:
                rec[c] = cell_value(row, c)
            if baseline is not None:
                for key in self.metric_keys:
                    rec[f"Δ metrics.{key}"] = self.delta(row, key, baseline)
            out.append(rec)
        return out
