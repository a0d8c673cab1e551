"""MLflow's ``mlflow.artifacts``: fetch and read artifacts by URI.

Artifact URIs are ``runs:/<run_id>/<path>``, ``models:/<name>/<version|stage|latest>`` (or ``@<alias>``), a run's
``artifact_uri`` with a path under it, a ``file://`` URI or a local path::

    nbtrack.artifacts.load_dict(f"runs:/{run_id}/config.json")
    nbtrack.artifacts.download_artifacts(run_id=run_id, artifact_path="model", dst_path="exported/")
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from nbtrack.entities import FileInfo
from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.tracking import pending, state
from nbtrack.tracking.artifacts import list_artifacts as _list_folder
from nbtrack.tracking.artifacts import safe_join

__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_image", "load_text"]


def _local(artifact_uri: str) -> Path:
    """The local file or folder an artifact URI names."""
    if not isinstance(artifact_uri, str) or not artifact_uri:
        raise InvalidParameter(f"artifact_uri must be a non-empty string, got {artifact_uri!r}.")
    client = state.get_client()
    if artifact_uri.startswith("runs:/"):
        run_id, _, path = artifact_uri[len("runs:/") :].lstrip("/").partition("/")
        pending.wait(run_id)
        return safe_join(client.artifact_dir(run_id), path.strip("/") or None)
    pending.wait()  # a path or models:/ URI may point into any run's artifacts
    if artifact_uri.startswith("models:/"):
        from nbtrack.tracking.model_uri import resolve_model_uri

        return Path(resolve_model_uri(artifact_uri, client).local_path)
    if artifact_uri.startswith("file://"):
        return Path(artifact_uri[len("file://") :])
    if "://" in artifact_uri:
        raise InvalidParameter(
            f"Unsupported artifact URI {artifact_uri!r}: use runs:/<run_id>/<path>, models:/..., file:// or a path."
        )
    return Path(artifact_uri).expanduser()


def _existing(artifact_uri: str) -> Path:
    path = _local(artifact_uri)
    if not path.exists():
        raise NotFound(f"No artifact at {artifact_uri!r} ({path} does not exist).")
    return path


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
) -> str:
    """Return a local path to an artifact (file or folder), copied into ``dst_path`` when given.

    Parameters
    ----------
    artifact_uri : str, optional
        The artifact's URI; or give ``run_id`` (and ``artifact_path``) instead.
    run_id : str, optional
        The run whose artifacts to fetch.
    artifact_path : str, optional
        A path under the run's artifacts (the whole folder by default).
    dst_path : str, optional
        A local folder to copy into (created if missing). Without it, the path inside the store is returned:
        read it, do not write to it.
    tracking_uri, registry_uri : str, optional
        Accepted for MLflow compatibility; the current store is used.

    Returns
    -------
    str

    Raises
    ------
    InvalidParameter
        Both or neither of ``artifact_uri`` and ``run_id``.
    NotFound
        No such artifact.
    """
    if (artifact_uri is None) == (run_id is None):
        raise InvalidParameter("download_artifacts takes exactly one of artifact_uri or run_id.")
    if artifact_uri is not None and artifact_path is not None:
        raise InvalidParameter("artifact_path goes with run_id; put the path inside artifact_uri instead.")
    uri = artifact_uri if artifact_uri is not None else f"runs:/{run_id}/{(artifact_path or '').lstrip('/')}"
    src = _existing(uri)
    if dst_path is None:
        return str(src)
    dest = Path(dst_path)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / src.name
    if src.is_dir():
        shutil.copytree(src, target, dirs_exist_ok=True)
    else:
        shutil.copy2(src, target)
    return str(target)


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[FileInfo]:
    """List the artifacts directly under a URI (or a run's ``artifact_path``).

    Returns
    -------
    list of FileInfo
        Paths relative to the run's artifact root when listing a run.
    """
    if (artifact_uri is None) == (run_id is None):
        raise InvalidParameter("list_artifacts takes exactly one of artifact_uri or run_id.")
    if run_id is not None:
        return state.get_client().list_artifacts(run_id, artifact_path)
    assert artifact_uri is not None
    if artifact_uri.startswith("runs:/"):
        rid, _, path = artifact_uri[len("runs:/") :].lstrip("/").partition("/")
        return state.get_client().list_artifacts(rid, path.strip("/") or None)
    folder = _existing(artifact_uri)
    return _list_folder(folder, None) if folder.is_dir() else []


def load_text(artifact_uri: str) -> str:
    """The text of an artifact file (UTF-8).

    Raises
    ------
    NotFound
        No such file.
    """
    path = _existing(artifact_uri)
    if not path.is_file():
        raise InvalidParameter(f"{artifact_uri!r} is a folder, not a text file.")
    return path.read_text(encoding="utf-8")


def load_dict(artifact_uri: str) -> dict[str, Any]:
    """A JSON (or YAML, by extension) artifact as a dict.

    Raises
    ------
    InvalidParameter
        The file is not valid JSON/YAML.
    """
    text = load_text(artifact_uri)
    if artifact_uri.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError as exc:  # pragma: no cover - PyYAML comes with Jupyter
            raise InvalidParameter("Reading YAML needs PyYAML: pip install pyyaml.") from exc
        return dict(yaml.safe_load(text) or {})
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidParameter(f"Unable to form a JSON object from file content: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidParameter(f"{artifact_uri!r} holds JSON {type(data).__name__}, not an object.")
    return data


def load_image(artifact_uri: str) -> Any:
    """An image artifact as a ``PIL.Image.Image``.

    Raises
    ------
    InvalidParameter
        The file is not an image Pillow can read.
    """
    path = _existing(artifact_uri)
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidParameter(f"Unable to form a PIL Image object from file content: {exc}") from exc
    return image
