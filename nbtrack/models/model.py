"""What a saved model is: :class:`Model` (the ``MLmodel`` file) and :class:`ModelInfo` (what ``log_model`` returns).

A model folder written by nbtrack holds, beside the serialised estimator, an ``MLmodel`` file in MLflow's YAML
layout (flavors ``python_function`` and ``sklearn``, ``signature``, ``run_id``, ``utc_time_created``...), so
MLflow's tooling reads the folder, and nbtrack's own ``nbtrack_model.json`` (digest, training-data fingerprint).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.errors import NotFound
from nbtrack.models.signature import ModelSignature

MLMODEL_FILE = "MLmodel"
_META_FILE = "nbtrack_model.json"


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    plain = text and all(c.isalnum() or c in "._-/" for c in text) and not text[0].isdigit()
    if plain and text not in ("null", "true", "false", "yes", "no", "on", "off", "~"):
        return text
    return "'" + text.replace("'", "''") + "'"


def to_yaml(data: dict[str, Any], indent: int = 0) -> str:
    """A small YAML emitter for the nested dicts of scalars an ``MLmodel`` file holds (keys sorted, as MLflow)."""
    lines: list[str] = []
    pad = "  " * indent
    for key in sorted(data):
        value = data[key]
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{key}:")
            lines.append(to_yaml(value, indent + 1).rstrip("\n"))
        elif isinstance(value, dict):
            lines.append(f"{pad}{key}: {{}}")
        elif isinstance(value, (list, tuple)):
            lines.append(f"{pad}{key}: {json.dumps(list(value))}")
        else:
            lines.append(f"{pad}{key}: {_yaml_scalar(value)}")
    return "\n".join(lines) + "\n"


@dataclass
class Model:
    """An ``MLmodel`` file: the model's flavors, signature and where it came from (MLflow's ``Model``)."""

    artifact_path: str | None = None
    run_id: str | None = None
    utc_time_created: str | None = None
    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    model_uuid: str | None = None
    mlflow_version: str | None = None
    metadata: dict[str, Any] | None = None
    model_size_bytes: int | None = None

    def get_input_schema(self) -> Any:
        """The input :class:`~nbtrack.models.signature.Schema`, or ``None``."""
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Any:
        """The output :class:`~nbtrack.models.signature.Schema`, or ``None``."""
        return self.signature.outputs if self.signature is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The ``MLmodel`` content as a dict."""
        out: dict[str, Any] = {
            "artifact_path": self.artifact_path,
            "flavors": self.flavors,
            "model_uuid": self.model_uuid,
            "mlflow_version": self.mlflow_version,
            "run_id": self.run_id,
            "utc_time_created": self.utc_time_created,
            "model_size_bytes": self.model_size_bytes,
        }
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
        if self.saved_input_example_info is not None:
            out["saved_input_example_info"] = self.saved_input_example_info
        if self.metadata is not None:
            out["metadata"] = self.metadata
        return {k: val for k, val in out.items() if val is not None or k in ("run_id",)}

    def to_yaml(self) -> str:
        """The ``MLmodel`` file's text."""
        return to_yaml(self.to_dict())

    def save(self, path: str | Path) -> None:
        """Write the ``MLmodel`` file to ``path``."""
        Path(path).write_text(self.to_yaml())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        """Build from an ``MLmodel`` dict."""
        signature = data.get("signature")
        return cls(
            artifact_path=data.get("artifact_path"),
            run_id=data.get("run_id"),
            utc_time_created=data.get("utc_time_created"),
            flavors=dict(data.get("flavors") or {}),
            signature=ModelSignature.from_dict(signature) if isinstance(signature, dict) else None,
            saved_input_example_info=data.get("saved_input_example_info"),
            model_uuid=data.get("model_uuid"),
            mlflow_version=data.get("mlflow_version"),
            metadata=data.get("metadata"),
            model_size_bytes=data.get("model_size_bytes"),
        )

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """Read a model folder's ``MLmodel`` (or the file itself).

        Raises
        ------
        NotFound
            No ``MLmodel`` file there.
        """
        folder = Path(path)
        file = folder if folder.is_file() else folder / MLMODEL_FILE
        sidecar = file.parent / _META_FILE
        try:  # nbtrack keeps the same content as JSON, readable without a YAML parser
            meta = json.loads(sidecar.read_text())
            if isinstance(meta, dict) and isinstance(meta.get("mlmodel"), dict):
                return cls.from_dict(meta["mlmodel"])
        except (OSError, ValueError):
            pass
        if not file.is_file():
            raise NotFound(f"No {MLMODEL_FILE} file in {folder}.")
        try:
            import yaml
        except ImportError:  # pragma: no cover - PyYAML comes with Jupyter
            raise NotFound(f"Reading {file} needs PyYAML (pip install pyyaml).") from None
        return cls.from_dict(yaml.safe_load(file.read_text()) or {})


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` wrote (MLflow's ``ModelInfo`` fields, plus the file's ``sha256`` and ``local_path``)."""

    artifact_path: str
    run_id: str | None
    model_uri: str
    sha256: str
    local_path: str
    registered_model_version: str | None = None
    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)
    signature: ModelSignature | None = None
    utc_time_created: str | None = None
    model_uuid: str | None = None
    mlflow_version: str | None = None
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    @property
    def signature_dict(self) -> dict[str, Any] | None:
        """The signature in MLflow's dict form."""
        return self.signature.to_dict() if self.signature is not None else None

    @property
    def name(self) -> str:
        """MLflow 3's name of :attr:`artifact_path`."""
        return self.artifact_path
