"""Artifacts of a server store: MLflow's artifact repositories, with a local copy per run.

``artifact_dir(run_id)`` hands out a local folder (``<cache>/artifacts/<run_id>``) holding
the run's files, fetched once per process; what code writes there is uploaded when the
run ends, on ``flush()`` and at exit. The artifact methods upload at once. Uploads go
through ``mlflow.store.artifact`` (``mlflow-artifacts:/`` through the server's proxy, or
the run's own store URI), with the same credentials as the tracking calls.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from nbtrack.entities import FileInfo
from nbtrack.errors import NbtrackError, NotFound
from nbtrack.store import artifacts as files
from nbtrack.store.mlflow_server._outbox import SpoolWarning

if TYPE_CHECKING:
    from nbtrack.store.mlflow_server.store import _RunState

logger = logging.getLogger("nbtrack.store")


class ServerArtifactsMixin:
    """Artifact operations of :class:`~nbtrack.store.mlflow_server.store.MlflowServerStore`."""

    uri: str
    cache: Path
    _state: Callable[[str], _RunState]

    def _init_artifacts(self) -> None:
        self._fetched: set[str] = set()
        self._handed_out: set[str] = set()
        self._art_lock = threading.RLock()
        self._repos: dict[str, Any] = {}

    def _repo(self, run_id: str) -> Any:
        repo = self._repos.get(run_id)
        if repo is None:
            from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

            uri = self._state(run_id).artifact_uri
            if not uri:
                raise NbtrackError(f"Run {run_id} has no artifact location on {self.uri}.")
            repo = self._repos[run_id] = get_artifact_repository(uri, tracking_uri=self.uri)
        return repo

    def _mirror(self, run_id: str) -> Path:
        self._state(run_id)  # NotFound / InvalidParameter for bad ids
        return self.cache / "artifacts" / run_id

    # -- the local copy -----------------------------------------------------
    def artifacts_folder(self) -> Path | None:
        """The local folder of the runs' artifact copies (``<folder>/<run_id>/``)."""
        return self.cache / "artifacts"

    def artifact_dir(self, run_id: str) -> Path:
        """A local folder with the run's files; files written into it are uploaded at run end or ``flush()``."""
        folder = self._mirror(run_id)
        with self._art_lock:
            folder.mkdir(parents=True, exist_ok=True)
            if run_id not in self._fetched:
                self._fetch_all(run_id, folder)
                self._fetched.add(run_id)
            self._handed_out.add(run_id)
        return folder

    def _fetch_all(self, run_id: str, folder: Path) -> None:
        manifest = self._read_manifest(run_id)
        try:
            remote = self._walk(run_id, "")
        except Exception as exc:
            logger.warning("Could not list the artifacts of run %s on %s: %s", run_id, self.uri, exc)
            return
        for info in remote:
            local = files.safe_join(folder, info.path)
            if local.is_file() and local.stat().st_size == info.file_size:
                continue
            local.parent.mkdir(parents=True, exist_ok=True)
            self._repo(run_id).download_artifacts(info.path, dst_path=str(folder))
            stat = local.stat()
            manifest[info.path] = [stat.st_size, stat.st_mtime_ns]
        self._write_manifest(run_id, manifest)

    def _walk(self, run_id: str, path: str) -> list[FileInfo]:
        out: list[FileInfo] = []
        for item in self._repo(run_id).list_artifacts(path or None):
            if item.is_dir:
                out.extend(self._walk(run_id, item.path))
            else:
                out.append(FileInfo(item.path, False, item.file_size))
        return out

    def _upload_pending(self, run_id: str | None) -> None:
        """Upload files changed in handed-out folders (of one run, or all)."""
        with self._art_lock:
            runs = [run_id] if run_id in self._handed_out else [] if run_id else list(self._handed_out)
            for rid in runs:
                if rid is None:
                    continue
                try:
                    self._upload_changed(rid, self.cache / "artifacts" / rid)
                except Exception as exc:
                    warnings.warn(
                        f"Could not upload the artifacts of run {rid} to {self.uri} ({exc}); they stay in "
                        f"{self.cache / 'artifacts' / rid} and are uploaded on the next flush.",
                        SpoolWarning,
                        stacklevel=3,
                    )

    def _upload_changed(self, run_id: str, folder: Path) -> None:
        if not folder.is_dir():
            return
        manifest = self._read_manifest(run_id)
        changed = False
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            if not path.is_file() or any(part.startswith(".") for part in path.relative_to(folder).parts):
                continue
            stat = path.stat()
            stamp = [stat.st_size, stat.st_mtime_ns]
            if manifest.get(rel) == stamp:
                continue
            parent = os.path.dirname(rel) or None
            self._repo(run_id).log_artifact(str(path), parent)
            manifest[rel] = stamp
            changed = True
        if changed:
            self._write_manifest(run_id, manifest)

    def _manifest_path(self, run_id: str) -> Path:
        return self.cache / "uploaded" / f"{run_id}.json"

    def _read_manifest(self, run_id: str) -> dict[str, list[int]]:
        """What of the run's local copy is known to be on the server: path → [size, mtime_ns]."""
        with contextlib.suppress(FileNotFoundError, orjson.JSONDecodeError):
            data = orjson.loads(self._manifest_path(run_id).read_bytes())
            if isinstance(data, dict):
                return data
        return {}

    def _write_manifest(self, run_id: str, manifest: dict[str, list[int]]) -> None:
        path = self._manifest_path(run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(orjson.dumps(manifest))
        os.replace(tmp, path)

    # -- the store's artifact methods -----------------------------------------
    def _staged(self, run_id: str, write: Callable[[Path], object]) -> None:
        folder = self._mirror(run_id)
        with self._art_lock:
            folder.mkdir(parents=True, exist_ok=True)
            write(folder)
            self._handed_out.add(run_id)
        self._upload_pending(run_id)

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        """Upload a local file or folder into the run's artifacts; return its artifact path."""
        out: list[str] = []
        self._staged(run_id, lambda root: out.append(files.copy_in(root, local_path, artifact_path)))
        return out[0]

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        """Upload a folder's contents into the run's artifacts."""
        out: list[str] = []
        self._staged(run_id, lambda root: out.append(files.copy_tree_in(root, local_dir, artifact_path)))
        return out[0]

    def write_artifact(self, run_id: str, artifact_file: str, data: bytes) -> None:
        """Upload bytes as an artifact file of the run."""
        self._staged(run_id, lambda root: files.write_file(root, artifact_file, data))

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The run's files and folders directly under ``path``, as the server lists them."""
        files.safe_join(self._mirror(run_id), path)
        self._upload_pending(run_id)
        items = self._repo(run_id).list_artifacts(path or None)
        return [FileInfo(i.path, bool(i.is_dir), None if i.is_dir else i.file_size) for i in items]

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        """Download an artifact (or the whole run's files) and return its local path.

        Raises
        ------
        NotFound
            The run has no such artifact.
        """
        local = files.safe_join(self._mirror(run_id), path)
        if dst_path is None:
            self.artifact_dir(run_id)
            if not local.exists():
                raise NotFound(f"Run {run_id} has no artifact {path!r}.")
            return str(local)
        self._upload_pending(run_id)
        Path(dst_path).mkdir(parents=True, exist_ok=True)
        try:
            return str(self._repo(run_id).download_artifacts(path, dst_path=str(dst_path)))
        except Exception as exc:
            if isinstance(exc, NbtrackError):
                raise
            raise NotFound(f"Run {run_id} has no artifact {path!r}: {exc}") from None
