"""``GET runs/<run_id>/artifact?path=...``: one artifact's content, for the sidebar's preview and download.

With ``preview=1`` the answer is JSON describing what to show: text (the first 64 KB), JSON
(parsed, up to 1 MB), CSV/TSV (the header and the first rows), an image (shown through a
second, raw request) or a binary file (size only). Without it the raw bytes are sent with
``Content-Disposition: attachment`` (a download). The path stays inside the run's artifact
folder (``..``, absolute paths and symlinks out of it are a 400), and the route needs an
authenticated user like every other one.
"""

from __future__ import annotations

import csv
import json
import mimetypes
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import tornado.web

from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.server._handler import BaseRouteHandler, translate_errors

TEXT_PREVIEW_BYTES = 64 * 1024
JSON_PREVIEW_BYTES = 1 << 20
CSV_PREVIEW_ROWS = 20
MAX_DOWNLOAD_BYTES = 512 << 20
TEXT_SUFFIXES = frozenset({".txt", ".py", ".md", ".log", ".yaml", ".yml", ".cfg", ".ini", ".toml", ".html", ".xml"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})
NAMED_TEXT = frozenset({"MLmodel", "requirements.txt", "conda.yaml", "LICENSE"})


def preview_kind(path: Path) -> str:
    """What the sidebar shows for a file: ``text``, ``json``, ``csv``, ``image`` or ``binary``."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in TEXT_SUFFIXES or path.name in NAMED_TEXT:
        return "text"
    with path.open("rb") as fh:
        head = fh.read(4096)
    if b"\x00" in head:
        return "binary"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    return "text"


def preview(path: Path, rel: str) -> dict[str, Any]:
    """The JSON answer of ``preview=1`` for the file at ``path`` (artifact path ``rel``)."""
    size = path.stat().st_size
    kind = preview_kind(path)
    out: dict[str, Any] = {"path": rel, "kind": kind, "size": size, "truncated": False}
    if kind == "json" and size <= JSON_PREVIEW_BYTES:
        try:
            out["content"] = json.loads(path.read_text(encoding="utf-8"))
            return out
        except (ValueError, UnicodeDecodeError):
            kind = out["kind"] = "text"
    if kind == "json":
        kind = out["kind"] = "text"
    if kind == "csv":
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            rows = []
            for row in reader:
                rows.append(row)
                if len(rows) > CSV_PREVIEW_ROWS:
                    break
        out["rows"] = rows[: CSV_PREVIEW_ROWS + 1]
        out["truncated"] = len(rows) > CSV_PREVIEW_ROWS
        return out
    if kind == "text":
        with path.open("rb") as fh:
            data = fh.read(TEXT_PREVIEW_BYTES + 1)
        out["content"] = data[:TEXT_PREVIEW_BYTES].decode("utf-8", errors="replace")
        out["truncated"] = len(data) > TEXT_PREVIEW_BYTES
    return out


class ArtifactRouteHandler(BaseRouteHandler):
    """``GET runs/<run_id>/artifact?path=P[&preview=1]``: an artifact's preview (JSON) or its bytes."""

    def _file(self, run_id: str) -> tuple[Path, str]:
        rel = self.get_query_argument("path", "")
        if not rel:
            raise InvalidParameter("Pass the artifact's path as ?path=..., e.g. ?path=model/MLmodel.")
        local = Path(self.client.download_artifacts(run_id, rel))  # refuses paths out of the run folder
        if local.is_dir():
            raise InvalidParameter(f"{rel!r} is a folder; pass the path of a file in it.")
        if not local.is_file():
            raise NotFound(f"Run {run_id} has no artifact file {rel!r}.")
        return local, rel

    @tornado.web.authenticated
    @translate_errors
    def get(self, run_id: str) -> None:
        """Answer the preview JSON (``preview=1``) or the file itself as an attachment."""
        local, rel = self._file(run_id)
        if self.get_query_argument("preview", "") in ("1", "true"):
            self.reply(preview(local, rel))
            return
        size = local.stat().st_size
        if size > MAX_DOWNLOAD_BYTES:
            raise InvalidParameter(
                f"{rel!r} is {size >> 20} MB; download it with nbtrack.artifacts.download_artifacts."
            )
        content_type = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
        if content_type in ("text/html", "image/svg+xml"):  # never rendered by the browser from this origin
            content_type = "application/octet-stream"
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(os.path.basename(rel))}")
        with local.open("rb") as fh:
            self.finish(fh.read(), set_content_type=content_type)  # APIHandler would say JSON


def artifact_routes(run: str) -> list[tuple[str, type[BaseRouteHandler]]]:
    """The artifact route below the run pattern ``run``."""
    return [(run + "/artifact", ArtifactRouteHandler)]


__all__ = ["ArtifactRouteHandler", "artifact_routes", "preview", "preview_kind"]
