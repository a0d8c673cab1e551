"""Writing and listing a run's files, never outside the run's folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from nbtrack.entities import FileInfo
from nbtrack.errors import InvalidParameter, NotFound


def safe_join(root: Path, relative: str | None) -> Path:
    """Join ``relative`` to ``root``, refusing anything that would land outside it.

    Raises
    ------
    InvalidParameter
        ``relative`` is absolute, climbs out with ``..`` or through a symlink.
    """
    if relative in (None, "", "."):
        return root
    assert relative is not None
    if not isinstance(relative, str):
        raise InvalidParameter(f"Artifact paths are strings, got {type(relative).__name__}.")
    rel = relative.replace("\\", "/")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or "\x00" in rel or (len(rel) > 1 and rel[1] == ":"):
        raise InvalidParameter(
            f"Artifact path {relative!r} must be relative and stay inside the run's artifact folder "
            "(no leading '/', no '..')."
        )
    target = root.joinpath(*pure.parts)
    resolved_root = root.resolve()
    if not target.resolve().is_relative_to(resolved_root):
        raise InvalidParameter(f"Artifact path {relative!r} leads outside the run's artifact folder.")
    return target


def log_artifact(root: Path, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    """Copy a file (or folder) into ``root/artifact_path``; return its relative path."""
    src = Path(local_path)
    if not src.exists():
        raise NotFound(f"Cannot log artifact: {src} does not exist.")
    dest_dir = safe_join(root, artifact_path)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src.name
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dest)
    return dest.relative_to(root).as_posix()


def log_artifacts(root: Path, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy the contents of a folder into ``root/artifact_path``."""
    src = Path(local_dir)
    if not src.is_dir():
        raise NotFound(f"Cannot log artifacts: {src} is not a folder.")
    dest = safe_join(root, artifact_path)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest, dirs_exist_ok=True)


def write_bytes(root: Path, artifact_file: str, data: bytes) -> Path:
    """Write ``data`` to ``root/artifact_file`` atomically."""
    if not artifact_file:
        raise InvalidParameter("artifact_file must name a file, e.g. 'notes/summary.txt'.")
    dest = safe_join(root, artifact_file)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return dest


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
    base = safe_join(root, path)
    if not base.is_dir():
        return []
    out = []
    for child in sorted(base.iterdir()):
        if child.name.startswith("."):
            continue
        rel = child.relative_to(root).as_posix()
        out.append(FileInfo(rel, child.is_dir(), None if child.is_dir() else child.stat().st_size))
    return out
