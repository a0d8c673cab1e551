"""How a run's slice is stored: tags, ``slice.py`` and ``slice.json`` artifacts.

Tags (searchable, e.g. ``tags.nbtrack.stale = 'true'``):

``nbtrack.slice_cells``
    JSON list of ``{"execution_count", "cell_id"}``, the slice in execution order.
``nbtrack.stale``
    ``'true'`` or ``'false'``; ``nbtrack.stale_reason`` says why when ``'true'``.
``nbtrack.reproduced_from``
    On a run made by :func:`nbtrack.reproduce`: the id of the run it reproduces, and
    ``nbtrack.reproduce_matches`` (``'true'``/``'false'``) whether it matched.

Artifacts: ``slice.py`` (the slice's cells in the ``# %%`` cell format, readable
and openable as a notebook by editors that know that format) and ``slice.json``
(the same cells with their ids, counts and outcome, read back by reproduce and
the REST API).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from nbtrack.entities import RunTag, Tags
from nbtrack.errors import NbtrackError, NotFound
from nbtrack.lineage.analysis import Facts
from nbtrack.lineage.session import Execution, Slice, slice_source
from nbtrack.tracking.client import TrackingClient

SLICE_CELLS = Tags.SLICE_CELLS
STALE = Tags.STALE
STALE_REASON = Tags.STALE_REASON
REPRODUCED_FROM = Tags.REPRODUCED_FROM
REPRODUCE_MATCHES = "nbtrack.reproduce_matches"
LINEAGE_TAGS = frozenset({SLICE_CELLS, STALE, STALE_REASON})
SLICE_PY = "slice.py"
SLICE_JSON = "slice.json"
_TAG_LIMIT = 8000


@dataclass(frozen=True)
class SliceCell:
    """One cell of a stored slice."""

    execution_count: int | None
    cell_id: str | None
    source: str
    failed: bool = False


@dataclass(frozen=True)
class SliceRecord:
    """A run's stored slice.

    Attributes
    ----------
    cells : tuple of SliceCell
        In execution order; the last one is the run's own cell.
    executed : int
        How many cells the session had executed up to the run's cell (the slice's share is ``len(cells) / executed``).
    ordinal : int
        Which of the runs its cell started this run is (0 for the first); ``%%track`` runs are 0.
    notebook_path : str or None
        The notebook the kernel served.
    """

    cells: tuple[SliceCell, ...]
    executed: int
    ordinal: int = 0
    notebook_path: str | None = None

    @classmethod
    def of(cls, found: Slice, executed: int, ordinal: int = 0, notebook_path: str | None = None) -> SliceRecord:
        """The record of a computed slice."""
        cells = tuple(SliceCell(e.count, e.cell_id, e.source, e.failed) for e in found.executions)
        return cls(cells, executed, ordinal, notebook_path)

    def to_json(self) -> str:
        """``slice.json``'s text."""
        data = asdict(self)
        data["version"] = 1
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> SliceRecord:
        """Parse ``slice.json``'s text."""
        data = json.loads(text)
        cells = tuple(
            SliceCell(c.get("execution_count"), c.get("cell_id"), str(c["source"]), bool(c.get("failed")))
            for c in data["cells"]
        )
        return cls(cells, int(data["executed"]), int(data.get("ordinal", 0)), data.get("notebook_path"))

    def python(self, run_id: str) -> str:
        """``slice.py``'s text."""
        executions = [
            Execution(i, c.execution_count, c.cell_id, c.source, Facts(), frozenset(), c.failed)
            for i, c in enumerate(self.cells)
        ]
        header = (
            f"# Minimal slice of run {run_id}: {len(self.cells)} of the {self.executed} cells executed "
            "in the session, in execution order; the last one is the run's cell.\n"
        )
        return slice_source(executions, header)

    def cells_tag(self) -> str:
        """The ``nbtrack.slice_cells`` tag value (the counts alone if the full list is too long)."""
        compact = (",", ":")
        text = json.dumps(
            [{"execution_count": c.execution_count, "cell_id": c.cell_id} for c in self.cells], separators=compact
        )
        if len(text) > _TAG_LIMIT:
            text = json.dumps([{"execution_count": c.execution_count} for c in self.cells], separators=compact)
        return text if len(text) <= _TAG_LIMIT else "[]"


def slice_tags(record: SliceRecord, stale_reason: str | None) -> dict[str, str]:
    """The lineage tags of a run at its start."""
    tags = {SLICE_CELLS: record.cells_tag(), STALE: "true" if stale_reason else "false"}
    if stale_reason:
        tags[STALE_REASON] = stale_reason
    return tags


def save(client: TrackingClient, run_id: str, record: SliceRecord) -> None:
    """Write ``slice.py`` and ``slice.json`` into the run's artifacts."""
    files = {SLICE_PY: record.python(run_id), SLICE_JSON: record.to_json()}
    if client.store_root is None:  # a remote store
        for name, text in files.items():
            client.log_text(run_id, text, name)
        return
    folder = client.artifact_dir(run_id)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def mark_stale(client: TrackingClient, run_id: str, reason: str) -> None:
    """Set the run's verdict to stale, with its reason."""
    client.log_batch(run_id, tags=[RunTag(STALE, "true"), RunTag(STALE_REASON, reason)])


def load(client: TrackingClient, run_id: str) -> SliceRecord:
    """The stored slice of a run.

    Raises
    ------
    NotFound
        The run does not exist, or has no slice (only runs of ``%%track`` cells and
        of fits run in a notebook with nbtrack loaded have one).
    """
    client.get_run(run_id)
    try:
        path = client.download_artifacts(run_id, SLICE_JSON)
    except NotFound:
        raise NotFound(
            f"Run {run_id} has no recorded slice: only runs of %%track cells, and of fits in a notebook "
            "where nbtrack is loaded, record the cells that produced them."
        ) from None
    try:
        with open(path, encoding="utf-8") as fh:
            return SliceRecord.from_json(fh.read())
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise NbtrackError(f"The slice of run {run_id} ({SLICE_JSON}) cannot be read: {err}") from None
