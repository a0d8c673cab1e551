"""Writing and listing a run's files, never outside the run's folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nbtrack.entities import FileInfo
from nbtrack.errors import InvalidParameter
from nbtrack.store.artifacts import copy_in, copy_tree_in, list_dir, safe_join, write_file

__all__ = ["dict_bytes", "figure_bytes", "list_artifacts", "log_artifact", "log_artifacts", "safe_join", "write_bytes"]


def log_artifact(root: Path, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    """Copy a file (or folder) into ``root/artifact_path``; return its relative path."""
    return copy_in(root, local_path, artifact_path)


def log_artifacts(root: Path, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy the contents of a folder into ``root/artifact_path``."""
    copy_tree_in(root, local_dir, artifact_path)


def write_bytes(root: Path, artifact_file: str, data: bytes) -> Path:
    """Write ``data`` to ``root/artifact_file`` atomically."""
    return write_file(root, artifact_file, data)


def dict_bytes(dictionary: Any, artifact_file: str) -> bytes:
    """Serialise a dict as JSON, or YAML when the file name asks for it."""
    if artifact_file.endswith((".yaml", ".yml")):
        try:
            import yaml

            return str(yaml.safe_dump(dictionary, sort_keys=False)).encode()
        except ImportError:
            pass
    return json.dumps(dictionary, indent=2, default=str).encode()


def figure_bytes(figure: Any, artifact_file: str) -> bytes:
    """Render a matplotlib figure (PNG/SVG/PDF by extension) or a plotly figure (HTML or image)."""
    module = type(figure).__module__
    if module.startswith("plotly"):
        if artifact_file.endswith(".html"):
            return str(figure.to_html(include_plotlyjs=True, full_html=True)).encode()
        raise InvalidParameter("Plotly figures are logged as HTML: name the artifact '*.html'.")
    if hasattr(figure, "savefig"):
        import io

        buf = io.BytesIO()
        fmt = Path(artifact_file).suffix.lstrip(".") or "png"
        figure.savefig(buf, format=fmt)
        return bytes(buf.getvalue())
    raise InvalidParameter(
        f"log_figure takes a matplotlib or plotly figure, got {type(figure).__module__}.{type(figure).__name__}."
    )


def list_artifacts(root: Path, path: str | None = None) -> list[FileInfo]:
    """List the files and folders directly under ``root/path``."""
    return list_dir(root, path)
