"""Artifact operations of :class:`~nbtrack.tracking.client.TrackingClient`; paths never leave the run's folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nbtrack import _validation as v
from nbtrack._validation import check_text, validate_local_path
from nbtrack.entities import FileInfo
from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.store.base import AbstractStore
from nbtrack.tracking import artifacts as _artifacts
from nbtrack.tracking import pending


class ArtifactsClientMixin:
    """Log, list and fetch a run's files."""

    _store: AbstractStore

    def _write(self, run_id: str, artifact_file: str, data: bytes) -> None:
        if self._store.root is None:  # a tracking server: the store uploads
            self._store.write_artifact(run_id, artifact_file, data)
        else:
            _artifacts.write_bytes(self._artifact_root(run_id), artifact_file, data)

    def _artifact_root(self, run_id: str) -> Any:
        return self._store.artifact_dir(run_id)

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Copy a local file or folder into the run's artifacts.

        Parameters
        ----------
        run_id : str
            The run's id.
        local_path : str or path-like
            File or folder to copy.
        artifact_path : str, optional
            Folder inside the run's artifacts (no absolute paths, no ``..``).
        """
        v.check_args(run_id=run_id)
        local = validate_local_path(local_path, "local_path", kind="file")
        if self._store.root is None:  # a tracking server: the store uploads
            self._store.log_artifact(run_id, local, artifact_path)
            return
        _artifacts.log_artifact(self._artifact_root(run_id), local, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Copy a folder's contents into the run's artifacts.

        Parameters
        ----------
        run_id : str
            The run's id.
        local_dir : str or path-like
            Folder whose contents to copy.
        artifact_path : str, optional
            Folder inside the run's artifacts (no absolute paths, no ``..``).
        """
        v.check_args(run_id=run_id)
        local = validate_local_path(local_dir, "local_dir", kind="folder")
        if self._store.root is None:
            self._store.log_artifacts(run_id, local, artifact_path)
            return
        _artifacts.log_artifacts(self._artifact_root(run_id), local, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write text to an artifact file.

        Parameters
        ----------
        run_id : str
            The run's id.
        text : str
            The text.
        artifact_file : str
            Relative path inside the run's artifacts.
        """
        v.check_args(run_id=run_id)
        if not isinstance(text, str):
            raise InvalidParameter(f"log_text takes a str, got {type(text).__name__}.")
        text = check_text(text, "text")
        _artifacts.check_artifact_file(artifact_file)
        self._write(run_id, artifact_file, text.encode())

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Write a dict as JSON (or YAML for ``.yaml``/``.yml``) to an artifact file.

        Parameters
        ----------
        run_id : str
            The run's id.
        dictionary : Any
            JSON-serialisable data (other values stringified).
        artifact_file : str
            Relative path inside the run's artifacts.
        """
        v.check_args(run_id=run_id)
        self._write(run_id, artifact_file, _artifacts.dict_bytes(dictionary, artifact_file))

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        """Save a matplotlib figure (PNG/SVG/PDF by extension) or plotly figure (HTML) as an artifact.

        Parameters
        ----------
        run_id : str
            The run's id.
        figure : Any
            A matplotlib or plotly figure.
        artifact_file : str
            Relative path inside the run's artifacts.
        """
        v.check_args(run_id=run_id)
        self._write(run_id, artifact_file, _artifacts.figure_bytes(figure, artifact_file))

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """List a run's artifacts directly under ``path``.

        Parameters
        ----------
        run_id : str
            The run's id.
        path : str, optional
            Folder inside the run's artifacts.

        Returns
        -------
        list of FileInfo
        """
        v.check_args(run_id=run_id)
        pending.wait(run_id)  # e.g. autolog's plots, still being drawn
        if self._store.root is None:
            return self._store.list_artifacts(run_id, path)
        return _artifacts.list_artifacts(self._artifact_root(run_id), path)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | None = None) -> str:
        """Return a local path of an artifact, copied to ``dst_path`` when given.

        Parameters
        ----------
        run_id : str
            The run's id.
        path : str
            Artifact path; the whole artifact folder by default.
        dst_path : str, optional
            Folder to copy into.

        Returns
        -------
        str

        Raises
        ------
        NotFound
            No such artifact.
        """
        v.check_args(run_id=run_id)
        pending.wait(run_id)
        if self._store.root is None:
            return self._store.download_artifacts(run_id, path, dst_path)
        src = _artifacts.safe_join(self._artifact_root(run_id), path)
        if not src.exists():
            raise NotFound(f"Run {run_id} has no artifact {path!r}.")
        if dst_path is None:
            return str(src)
        dest = Path(dst_path)
        dest.mkdir(parents=True, exist_ok=True)
        return str(dest / _artifacts.log_artifact(dest, src))
