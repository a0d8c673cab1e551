"""Registry checks (MLflow's rules) and conversions from registry documents to entities.

Documents of the registry tables:

- ``registered_models`` (key: the name): ``id``, ``name``, ``creation_timestamp``,
  ``last_updated_timestamp``, ``description``, ``tags``, ``aliases`` (alias → version
  number) and ``next_version`` (numbers are never reused, even after a deletion).
- ``model_versions`` (key: ``"<name>\\x00<version>"``): ``name``, ``version`` (int),
  timestamps, ``current_stage``, ``description``, ``user_id``, ``source``, ``run_id``,
  ``status``, ``tags``, ``data_digest``.
- ``events`` (key: a random id): ``model_id``, ``name``, ``timestamp``, ``user``,
  ``action``, ``version``, ``from_value``, ``to_value``, ``run_id``, ``data_digest``,
  ``alias``; ordered by their ``_seq`` change number.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from nbtrack import _validation as v
from nbtrack.entities import ModelVersion, ModelVersionStage, RegisteredModel, RegistryEvent
from nbtrack.errors import InvalidParameter, NotFound

if TYPE_CHECKING:
    from nbtrack.store._backend import Tables

MAX_MODEL_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 100_000
_ALIAS_RE = re.compile(r"^[\w\-]+$")
_RESERVED_ALIAS_RE = re.compile(r"^v\d+$", re.IGNORECASE)
_MAX_LISTED = 20


def version_key(name: str, version: int) -> str:
    """The ``model_versions`` key of a version."""
    return f"{name}\x00{version}"


def listing(items: Iterable[object], empty: str = "(none)") -> str:
    """Join up to 20 items for an error message."""
    shown = [str(i) for i in items]
    if not shown:
        return empty
    more = len(shown) - _MAX_LISTED
    return ", ".join(shown[:_MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


def validate_model_name(name: Any, what: str = "registered model name") -> str:
    """Check a registered model name: non-empty text without ``/``, ``@`` or control characters.

    Raises
    ------
    InvalidParameter
        The name would not round-trip through a ``models:/<name>/...`` URI.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(f"Invalid {what} {name!r}: it must be a non-empty string.")
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise InvalidParameter(
            f"Invalid {what} '{name[:40]}...': {len(name)} characters, at most {MAX_MODEL_NAME_LENGTH} allowed."
        )
    if name != name.strip() or "/" in name or "@" in name or any(ord(c) < 32 for c in name):
        raise InvalidParameter(
            f"Invalid {what} {name!r}: names may not contain '/', '@', control characters or "
            "leading/trailing spaces, so that 'models:/<name>/<version>' and 'models:/<name>@<alias>' stay readable."
        )
    return name


def validate_version(version: Any) -> int:
    """Check a model version given as an int or a string of digits; return it as an int."""
    if isinstance(version, bool):
        raise InvalidParameter(f"Invalid model version {version!r}: versions are positive integers such as 1 or '3'.")
    if isinstance(version, int):
        number = version
    elif isinstance(version, str) and version.strip().isdigit():
        number = int(version.strip())
    else:
        raise InvalidParameter(f"Invalid model version {version!r}: versions are positive integers such as 1 or '3'.")
    if number < 1:
        raise InvalidParameter(f"Invalid model version {version!r}: versions start at 1.")
    return number


def validate_stage(stage: Any) -> str:
    """Return the canonical stage for ``stage`` (any case)."""
    canonical = ModelVersionStage.canonical(stage) if isinstance(stage, str) else None
    if canonical is None:
        raise InvalidParameter(
            f"Invalid model version stage {stage!r}; use one of {', '.join(ModelVersionStage.ALL)} (any case)."
        )
    return canonical


def validate_transition(name: Any, version: Any, stage: Any, archive_existing_versions: Any) -> tuple[str, int, str]:
    """Check the arguments of a stage transition; return the clean name, version number and stage."""
    clean_name, number, clean_stage = validate_model_name(name), validate_version(version), validate_stage(stage)
    if not isinstance(archive_existing_versions, bool):
        raise InvalidParameter(f"archive_existing_versions must be True or False, got {archive_existing_versions!r}.")
    if archive_existing_versions and clean_stage not in ModelVersionStage.ACTIVE:
        raise InvalidParameter(
            f"archive_existing_versions=True only applies when moving to an active stage "
            f"({', '.join(ModelVersionStage.ACTIVE)}), not {clean_stage!r}."
        )
    return clean_name, number, clean_stage


def validate_alias(alias: Any) -> str:
    """Check an alias name as MLflow does (``v<number>`` and ``latest`` are reserved)."""
    if not isinstance(alias, str) or not alias:
        raise InvalidParameter(f"Invalid alias {alias!r}: it must be a non-empty string.")
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidParameter(f"Invalid alias '{alias[:40]}...': at most {MAX_ALIAS_LENGTH} characters allowed.")
    if not _ALIAS_RE.match(alias):
        raise InvalidParameter(
            f"Invalid alias {alias!r}: aliases may only contain letters, digits, underscores (_) and dashes (-)."
        )
    if _RESERVED_ALIAS_RE.match(alias) or alias.lower() == "latest":
        raise InvalidParameter(
            f"Invalid alias {alias!r}: 'latest' and 'v<number>' are reserved, since 'models:/<name>/latest' and "
            "version numbers already name versions. Choose another name, e.g. 'champion'."
        )
    return alias


def validate_description(description: Any) -> str:
    """Check a description (text; ``None`` means empty)."""
    if description is None:
        return ""
    if not isinstance(description, str):
        raise InvalidParameter(f"A description must be a string, got {type(description).__name__}.")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidParameter(f"A description may hold at most {MAX_DESCRIPTION_LENGTH} characters.")
    return description


def validate_tags(tags: Any) -> dict[str, str]:
    """Check a tag mapping (keys as run tags; values stringified)."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidParameter(f"Tags must be a dict of str to str, got {type(tags).__name__}.")
    return v.validate_tag_dict(tags)


def version_from_doc(doc: dict[str, Any], aliases: dict[str, int]) -> ModelVersion:
    """Build a :class:`ModelVersion` (``aliases``: the model's alias → version map)."""
    number = doc["version"]
    return ModelVersion(
        name=doc["name"],
        version=str(number),
        creation_timestamp=doc["creation_timestamp"],
        last_updated_timestamp=doc["last_updated_timestamp"],
        current_stage=doc.get("current_stage", ModelVersionStage.NONE),
        description=doc.get("description", ""),
        user_id=doc.get("user_id", ""),
        source=doc.get("source", ""),
        run_id=doc.get("run_id"),
        status=doc.get("status", "READY"),
        tags=dict(doc.get("tags", {})),
        aliases=tuple(sorted(a for a, n in aliases.items() if n == number)),
    )


def latest_per_stage(versions: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The highest-numbered version document of each stage in use."""
    latest: dict[str, dict[str, Any]] = {}
    for doc in versions:
        stage = doc.get("current_stage", ModelVersionStage.NONE)
        if stage not in latest or doc["version"] > latest[stage]["version"]:
            latest[stage] = doc
    return latest


def model_from_doc(doc: dict[str, Any], versions: Iterable[dict[str, Any]]) -> RegisteredModel:
    """Build a :class:`RegisteredModel`; ``latest_versions`` holds the latest version of each stage."""
    aliases: dict[str, int] = doc.get("aliases", {})
    latest = latest_per_stage(versions)
    return RegisteredModel(
        name=doc["name"],
        creation_timestamp=doc["creation_timestamp"],
        last_updated_timestamp=doc["last_updated_timestamp"],
        description=doc.get("description", ""),
        latest_versions=tuple(version_from_doc(latest[s], aliases) for s in ModelVersionStage.ALL if s in latest),
        tags=dict(doc.get("tags", {})),
        aliases={a: str(n) for a, n in sorted(aliases.items())},
    )


def event_from_doc(doc: dict[str, Any], name: str) -> RegistryEvent:
    """Build a :class:`RegistryEvent` shown under the model's current ``name``."""
    version = doc.get("version")
    return RegistryEvent(
        timestamp=doc["timestamp"],
        user=doc.get("user", ""),
        action=doc["action"],
        name=name,
        version=None if version is None else str(version),
        from_value=doc.get("from_value"),
        to_value=doc.get("to_value"),
        run_id=doc.get("run_id"),
        data_digest=doc.get("data_digest"),
        alias=doc.get("alias"),
    )


MODELS = "registered_models"
VERSIONS = "model_versions"
EVENTS = "events"


class View(Protocol):
    """What registry helpers read through: a transaction or a :class:`Reader`."""

    def get(self, table: str, key: str) -> dict[str, Any] | None: ...

    def rows(self, table: str) -> dict[str, dict[str, Any]]: ...


class Reader:
    """Read-only access to the tables, shaped like a transaction."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        return self._tables.get(table, {}).get(key)

    def rows(self, table: str) -> dict[str, dict[str, Any]]:
        return self._tables.get(table, {})


@cache
def os_user() -> str:
    """The OS user name, or ``unknown``."""
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def model_doc(view: View, name: str) -> dict[str, Any]:
    """A model document; ``NotFound`` lists the models that exist."""
    doc = view.get(MODELS, name)
    if doc is None:
        names = sorted(view.rows(MODELS))
        raise NotFound(
            f"Registered model {name!r} not found; registered models: {listing(names, 'none yet')}. "
            "Create it with create_registered_model or register_model."
        )
    return doc


def versions_of(view: View, name: str) -> list[dict[str, Any]]:
    """The version documents of a model, by number."""
    prefix = name + "\x00"
    return sorted(
        (doc for key, doc in view.rows(VERSIONS).items() if key.startswith(prefix)), key=lambda doc: doc["version"]
    )


def versions_by_model(view: View) -> dict[str, list[dict[str, Any]]]:
    """Every version document, grouped by model name and sorted by number (one pass)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for doc in view.rows(VERSIONS).values():
        grouped.setdefault(doc["name"], []).append(doc)
    for docs in grouped.values():
        docs.sort(key=lambda doc: doc["version"])
    return grouped


def version_doc(view: View, name: str, number: int) -> dict[str, Any]:
    """A version document; ``NotFound`` lists the versions that exist."""
    model_doc(view, name)
    doc = view.get(VERSIONS, version_key(name, number))
    if doc is None:
        numbers = [doc["version"] for doc in versions_of(view, name)]
        raise NotFound(f"Registered model {name!r} has no version {number}; versions: {listing(numbers, 'none yet')}.")
    return doc


def touch(doc: dict[str, Any], ts: int, **changes: Any) -> dict[str, Any]:
    """A copy of ``doc`` with ``changes`` and a new ``last_updated_timestamp``."""
    return {**doc, **changes, "last_updated_timestamp": ts}
