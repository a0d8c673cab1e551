"""Model URIs: where ``runs:/...``, ``models:/...`` and plain folders point.

Accepted forms::

    runs:/<run_id>/<path>        a folder in a run's artifacts
    models:/<name>/<version>     a version number, e.g. models:/Churn/3
    models:/<name>/<stage>       the latest version in a stage (any case), e.g. models:/Churn/Production
    models:/<name>/latest        the latest version
    models:/<name>@<alias>       the version an alias points at, e.g. models:/Churn@champion
    /path/to/folder              a model folder on disk (also file:///path/to/folder)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from nbtrack import _validation as v
from nbtrack.entities import ModelVersion, ModelVersionStage
from nbtrack.errors import InvalidParameter, NbtrackError, NotFound
from nbtrack.tracking import artifacts as _artifacts

if TYPE_CHECKING:
    from nbtrack.tracking.client import TrackingClient

ACCEPTED_FORMS = (
    "runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>/<stage> "
    f"(stage: {', '.join(ModelVersionStage.ALL)}), models:/<name>/latest, models:/<name>@<alias>, "
    "or a local folder path"
)
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


@dataclass(frozen=True)
class ResolvedModelUri:
    """Where a model URI points.

    Attributes
    ----------
    run_id : str or None
        The run whose artifacts hold the model (``None`` for a folder outside any run).
    artifact_path : str
        The model folder relative to the run's artifact root (``""`` when unknown or the root).
    local_path : pathlib.Path
        The model folder on disk.
    model_version : ModelVersion or None
        The registered version, for ``models:/`` URIs.
    """

    run_id: str | None
    artifact_path: str
    local_path: Path
    model_version: ModelVersion | None = None


def _malformed(uri: object, why: str) -> InvalidParameter:
    return InvalidParameter(f"Malformed model URI {uri!r}: {why}. Accepted forms: {ACCEPTED_FORMS}.")


def resolve_model_uri(uri: str, client: TrackingClient) -> ResolvedModelUri:
    """Resolve a model URI to its run, artifact path, local folder and registered version.

    Parameters
    ----------
    uri : str
        One of the forms listed in this module's docstring.
    client : TrackingClient
        The client whose store the URI refers to.

    Returns
    -------
    ResolvedModelUri

    Raises
    ------
    InvalidParameter
        The URI is malformed; the message lists the accepted forms.
    NotFound
        The run, path, model, version, stage or alias does not exist; the message lists what does.
    """
    if isinstance(uri, Path):
        uri = str(uri)
    if not isinstance(uri, str) or not uri.strip():
        raise _malformed(uri, "give a non-empty string")
    if uri.startswith("runs:"):
        return _resolve_runs(uri, client)
    if uri.startswith("models:"):
        return _resolve_models(uri, client)
    if uri.startswith("file://"):
        return _resolve_folder(uri, uri[len("file://") :], client)
    if _SCHEME_RE.match(uri):
        raise _malformed(uri, "unknown scheme")
    return _resolve_folder(uri, uri, client)


def _resolve_runs(uri: str, client: TrackingClient) -> ResolvedModelUri:
    if not uri.startswith("runs:/"):
        raise _malformed(uri, "a run URI starts with 'runs:/'")
    body = uri[len("runs:/") :].lstrip("/")
    run_id, _, path = body.partition("/")
    try:
        run_id = v.validate_run_id(run_id)
    except InvalidParameter:
        raise _malformed(uri, f"{run_id!r} is not a run id") from None
    path = path.strip("/")
    client.get_run(run_id)  # NotFound names the run
    root = client.artifact_dir(run_id)
    local = _artifacts.safe_join(root, path)
    if not local.exists():
        listed = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
        raise NotFound(
            f"Run {run_id!r} has no artifact {path!r}; its artifacts: {', '.join(listed) if listed else '(none)'}."
        )
    return ResolvedModelUri(run_id=run_id, artifact_path=path, local_path=local, model_version=None)


def _find_version(uri: str, client: TrackingClient) -> ModelVersion:
    body = uri[len("models:/") :] if uri.startswith("models:/") else ""
    if not body:
        raise _malformed(uri, "a registry URI looks like 'models:/<name>/<version>'")
    if "@" in body:
        name, _, alias = body.partition("@")
        if not name or not alias or "/" in name or "/" in alias:
            raise _malformed(uri, "an alias URI looks like 'models:/<name>@<alias>'")
        return client.get_model_version_by_alias(name, alias)
    parts = body.split("/")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise _malformed(uri, "give a model name and one of a version, a stage, 'latest' or '@<alias>'")
    name, selector = parts
    if selector.isdigit():
        return client.get_model_version(name, selector)
    if selector.lower() == "latest":
        versions = client.get_latest_versions(name)
        if not versions:
            raise NotFound(f"Registered model {name!r} has no versions yet; register one with register_model.")
        return max(versions, key=lambda mv: int(mv.version))
    stage = ModelVersionStage.canonical(selector)
    if stage is None:
        raise _malformed(
            uri, f"{selector!r} is neither a version number, a stage ({', '.join(ModelVersionStage.ALL)}) nor 'latest'"
        )
    return client.get_latest_version_in_stage(name, stage)


def _resolve_models(uri: str, client: TrackingClient) -> ResolvedModelUri:
    version = _find_version(uri, client)
    resolved = resolve_version_source(version, client)
    if not resolved.local_path.exists():
        raise NotFound(
            f"Version {version.version} of registered model {version.name!r} points at {version.source!r}, "
            "which no longer exists."
        )
    return resolved


def resolve_version_source(version: ModelVersion, client: TrackingClient) -> ResolvedModelUri:
    """Where a registered version's files are: its run's artifact folder when it has a run."""
    source = version.source
    if source.startswith(("runs:", "models:")):
        inner = resolve_model_uri(source, client)
        return ResolvedModelUri(inner.run_id, inner.artifact_path, inner.local_path, version)
    path = Path(source[len("file://") :] if source.startswith("file://") else source)
    if version.run_id:
        try:
            root = client.artifact_dir(version.run_id)
        except NbtrackError:
            root = None
        if root is not None:
            relative = _relative_in_run(path, root, version.run_id)
            if relative is not None:
                return ResolvedModelUri(version.run_id, relative, _artifacts.safe_join(root, relative), version)
    return ResolvedModelUri(version.run_id, "", path, version)


def _relative_in_run(path: Path, root: Path, run_id: str) -> str | None:
    """``path`` relative to a run's artifact root (also when the store folder moved since)."""
    try:
        relative = path.resolve().relative_to(root.resolve()).as_posix()
        return "" if relative == "." else relative
    except ValueError:
        pass
    parts = PurePosixPath(path.as_posix()).parts
    for i in range(len(parts) - 1):
        if parts[i] == "artifacts" and parts[i + 1] == run_id:
            return "/".join(parts[i + 2 :])
    return None


def _resolve_folder(uri: str, path_text: str, client: TrackingClient) -> ResolvedModelUri:
    path = Path(path_text).expanduser()
    try:
        found = path.exists()
    except OSError as exc:  # a name too long for the file system, a loop of links
        raise InvalidParameter(f"Model URI {uri[:80]!r} is not a usable path: {exc.strerror}.") from None
    if not found:
        raise NotFound(f"No model folder at {str(path)!r} (from {uri!r}). Accepted forms: {ACCEPTED_FORMS}.")
    if not path.is_dir():
        raise InvalidParameter(f"{str(path)!r} is a file; a model URI points at the model's folder.")
    path = path.resolve()
    artifacts = client.store.artifacts_folder()
    if artifacts is not None:
        try:
            parts = path.relative_to(artifacts.resolve()).parts
        except ValueError:
            parts = ()
        if parts:
            run_id = parts[0]
            return ResolvedModelUri(run_id, "/".join(parts[1:]), path, None)
    return ResolvedModelUri(None, "", path, None)
