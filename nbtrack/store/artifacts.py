"""A run's files in a local folder: copying in, listing, paths that never leave the folder.

Used by the stores' artifact conveniences (:class:`~nbtrack.store.base.AbstractStore`)
and by the tracking client; a server store keeps a local copy of a run's files the same way.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path, PurePosixPath

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


def copy_in(root: Path, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
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


def copy_tree_in(root: Path, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    """Copy the contents of a folder into ``root/artifact_path``; return that folder's relative path."""
    src = Path(local_dir)
    if not src.is_dir():
        raise NotFound(f"Cannot log artifacts: {src} is not a folder.")
    dest = safe_join(root, artifact_path)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest, dirs_exist_ok=True)
    return "" if dest == root else dest.relative_to(root).as_posix()


def write_file(root: Path, artifact_file: str, data: bytes) -> Path:
    """Write ``data`` to ``root/artifact_file`` atomically."""
    if not artifact_file:
        raise InvalidParameter("artifact_file must name a file, e.g. 'notes/summary.txt'.")
    dest = safe_join(root, artifact_file)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A fresh temporary name, created exclusively and never through a link: a planted ``.<name>.tmp`` symlink
    # cannot redirect the write out of the folder. ``os.replace`` swaps the entry itself, never a link's target.
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, dest)
    return dest


def list_dir(root: Path, path: str | None = None) -> list[FileInfo]:
    """List the files and folders directly under ``root/path`` (hidden names skipped)."""
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


def copy_out(root: Path, path: str, dst_path: str | os.PathLike[str] | None, what: str) -> str:
    """The local path of ``root/path``, copied into ``dst_path`` when given."""
    src = safe_join(root, path)
    if not src.exists():
        raise NotFound(f"{what} has no artifact {path!r}.")
    if dst_path is None:
        return str(src)
    dest = Path(dst_path)
    dest.mkdir(parents=True, exist_ok=True)
    return str(dest / copy_in(dest, src))
