"""Writing and listing a run's files, never outside the run's folder.

Every write goes through :func:`_open_parent`: the run folder is opened, then each folder of the relative path
below it with ``O_NOFOLLOW | O_DIRECTORY`` relative to its parent's descriptor, so a symlink planted anywhere in the
path (or swapped in while the write runs) is refused rather than followed. A file is written to a fresh temporary
name created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` in that folder and renamed over the target, which replaces a
link at the target instead of writing through it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from nbtrack._validation import check_text
from nbtrack.entities import FileInfo
from nbtrack.errors import InvalidParameter, NotFound

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# ``os.replace`` takes ``src_dir_fd``/``dst_dir_fd`` wherever ``os.rename`` does (it is missing from the set).
_DIR_FD = os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd and os.rename in os.supports_dir_fd
_CHUNK = 1 << 20
_NAME_MAX = 240  # bytes per path component (file systems allow 255; the temporary name adds a few)


def safe_join(root: Path, relative: str | None) -> Path:
    """Join ``relative`` to ``root``, refusing anything that would land outside it.

    Raises
    ------
    InvalidParameter
        ``relative`` is absolute, climbs out with ``..`` or through a symlink.
    """
    if relative is None:
        return root
    if not isinstance(relative, str):
        raise InvalidParameter(f"Artifact paths are strings, got {type(relative).__name__}.")
    if relative in ("", "."):
        return root
    rel = check_text(relative, "artifact path").replace("\\", "/")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or "\x00" in rel or (len(rel) > 1 and rel[1] == ":"):
        raise InvalidParameter(
            f"Artifact path {relative!r} must be relative and stay inside the run's artifact folder "
            "(no leading '/', no '..')."
        )
    if any(len(part.encode("utf-8")) > _NAME_MAX for part in pure.parts):
        raise InvalidParameter(f"Artifact path {relative[:60]!r}... has a name longer than {_NAME_MAX} bytes.")
    target = root.joinpath(*pure.parts)
    resolved_root = root.resolve()
    if not target.resolve().is_relative_to(resolved_root):
        raise InvalidParameter(f"Artifact path {relative!r} leads outside the run's artifact folder.")
    return target


def _parts(relative: str | None) -> list[str]:
    if relative is None or relative in ("", "."):
        return []
    return [p for p in PurePosixPath(relative.replace("\\", "/")).parts if p not in ("", ".")]


@contextlib.contextmanager
def _open_parent(root: Path, parts: list[str]) -> Iterator[int]:
    """A descriptor of ``root/parts...``, folders created as needed, none of them a followed link."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC | _NOFOLLOW)
    try:
        for part in parts:
            try:
                os.mkdir(part, 0o777, dir_fd=fd)
            except FileExistsError:
                pass
            try:
                child = os.open(part, os.O_RDONLY | _DIRECTORY | _CLOEXEC | _NOFOLLOW, dir_fd=fd)
            except OSError:
                raise InvalidParameter(
                    f"Artifact folder {'/'.join(parts)!r} of the run is a file or a link; refusing to write through it."
                ) from None
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _write_stream(root: Path, relative: str, source: BinaryIO | bytes) -> Path:
    """Write ``source`` to ``root/relative`` without following any link (see the module docstring)."""
    parts = _parts(relative)
    if not parts:
        raise InvalidParameter("artifact_file must name a file, e.g. 'notes/summary.txt'.")
    *folders, name = parts
    if not _DIR_FD:  # no *at() calls on this platform: path-based, still O_EXCL | O_NOFOLLOW on the temporary file
        return _write_by_path(safe_join(root, relative), source)
    with _open_parent(root, folders) as dir_fd:
        try:
            if stat.S_ISDIR(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                raise InvalidParameter(f"Artifact {relative!r} is a folder of the run; name a file inside it.")
        except FileNotFoundError:
            pass
        tmp = f".{name[:100]}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as out:
                _copy(source, out)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
    return root.joinpath(*parts)


def _write_by_path(dest: Path, source: BinaryIO | bytes) -> Path:
    if dest.is_dir():
        raise InvalidParameter(f"Artifact {dest.name!r} is a folder of the run; name a file inside it.")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidParameter(
            f"Artifact folder {dest.parent.name!r} of the run is a file; name another folder."
        ) from None
    tmp = dest.with_name(f".{dest.name[:100]}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            _copy(source, out)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return dest


def _copy(source: BinaryIO | bytes, out: BinaryIO) -> None:
    if isinstance(source, (bytes, bytearray, memoryview)):
        out.write(source)
        return
    while block := source.read(_CHUNK):
        out.write(block)


def _copy_file(src: Path, root: Path, relative: str) -> None:
    with open(src, "rb") as fh:
        _write_stream(root, relative, fh)
    with contextlib.suppress(OSError):
        st = src.stat()
        os.utime(root.joinpath(*_parts(relative)), ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_tree(src: Path, root: Path, relative: str | None) -> None:
    """Copy a folder's contents (links in the source are read through, each folder once: no loops)."""
    base = _parts(relative)
    dest_root = root.joinpath(*base).resolve() if base else root.resolve()
    if dest_root.is_relative_to(src.resolve()):
        raise InvalidParameter(
            f"Cannot log {src} into the run: the run's artifact folder is inside it, so the copy would copy itself. "
            "Log a folder that does not contain the store."
        )
    seen: set[tuple[int, int]] = set()
    for folder, dirs, files in os.walk(src, followlinks=True):
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        rel = Path(folder).relative_to(src).parts
        dirs.sort()
        if not files and not dirs:
            with _open_parent(root, [*base, *rel]):
                pass
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_file():
                _copy_file(path, root, "/".join([*base, *rel, name]))


def log_artifact(root: Path, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    """Copy a file (or folder) into ``root/artifact_path``; return its relative path."""
    src = Path(local_path)
    if not os.fspath(local_path):
        raise InvalidParameter("local_path is empty: name the file to log.")
    if not src.exists():
        raise NotFound(f"Cannot log artifact: {src} does not exist.")
    safe_join(root, artifact_path)
    relative = "/".join([*_parts(artifact_path), src.resolve().name])
    if src.is_dir():
        _copy_tree(src, root, relative)
    else:
        _copy_file(src, root, relative)
    return relative


def log_artifacts(root: Path, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy the contents of a folder into ``root/artifact_path``."""
    src = Path(local_dir)
    if not os.fspath(local_dir) or not src.is_dir():
        raise NotFound(f"Cannot log artifacts: {src} is not a folder.")
    safe_join(root, artifact_path)
    _copy_tree(src, root, artifact_path)


def write_bytes(root: Path, artifact_file: str, data: bytes) -> Path:
    """Write ``data`` to ``root/artifact_file`` atomically, never through a link.

    Raises
    ------
    InvalidParameter
        ``artifact_file`` is empty, not a string, escapes the run folder, names a folder, or a link is in the way.
    """
    artifact_file = check_artifact_file(artifact_file)
    safe_join(root, artifact_file)
    return _write_stream(root, artifact_file, data)


def check_artifact_file(artifact_file: Any) -> str:
    """An ``artifact_file`` argument: a non-empty relative file name (checked before anything is rendered).

    Raises
    ------
    InvalidParameter
        Not a string, empty, a folder name (``"a/"``) or a lone surrogate in it.
    """
    if not isinstance(artifact_file, str):
        raise InvalidParameter(f"artifact_file must be a str such as 'notes.txt', got {type(artifact_file).__name__}.")
    if not artifact_file or artifact_file.endswith(("/", "\\")) or not _parts(artifact_file):
        raise InvalidParameter(f"artifact_file must name a file, e.g. 'notes/summary.txt', got {artifact_file!r}.")
    return check_text(artifact_file, "artifact_file")


def dict_bytes(dictionary: Any, artifact_file: str) -> bytes:
    """Serialise a dict as JSON, or YAML when the file name asks for it.

    Raises
    ------
    InvalidParameter
        ``artifact_file`` is not a file name, or the data cannot be written (keys that are not strings, cycles).
    """
    artifact_file = check_artifact_file(artifact_file)
    try:
        return _dict_bytes(dictionary, artifact_file)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidParameter(f"log_dict cannot write this value as {artifact_file!r}: {exc}.") from None


def _dict_bytes(dictionary: Any, artifact_file: str) -> bytes:
    if artifact_file.endswith((".yaml", ".yml")):
        try:
            import yaml

            return str(yaml.safe_dump(dictionary, sort_keys=False)).encode()
        except ImportError:
            pass
    return json.dumps(dictionary, indent=2, default=str).encode()


def figure_bytes(figure: Any, artifact_file: str) -> bytes:
    """Render a matplotlib figure (PNG/SVG/PDF by extension) or a plotly figure (HTML or image)."""
    artifact_file = check_artifact_file(artifact_file)
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
