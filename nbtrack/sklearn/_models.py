"""Model files: skops serialisation, the SHA-256 recorded in the store, and trust on load.

A logged model is a folder ``<artifact_path>/`` holding ``model.skops`` and
``nbtrack_model.json``. When nbtrack writes the file into a run it records the
file's SHA-256 as the run tag ``nbtrack.model_sha256.<artifact_path>``. On load,
a file whose digest matches that record loads with no argument, trusting skops'
defaults plus the reviewed list of scikit-learn types in
:mod:`nbtrack.sklearn._trust` (tree structures, kernels, splitters, ...), each
named in full and never as a callable; any other type (a user's class,
``builtins.eval``, a NumPy helper) must be named in ``trusted=[...]``. A file
whose digest does not match, or with no record in the store, loads only with an
explicit ``trusted=[...]`` or ``trusted=True``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
import uuid
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidModelFile, InvalidParameter, NotFound, UntrustedModel
from nbtrack.models import MLMODEL_FILE, Model, ModelInfo, ModelSignature
from nbtrack.models.signature import signature_from_description
from nbtrack.sklearn import _layout, _signing

MODEL_FILE = "model.skops"
PICKLE_FILE = "model.pkl"
META_FILE = "nbtrack_model.json"
FORMATS = ("skops", "pickle", "cloudpickle")
DIGEST_TAG_PREFIX = "nbtrack.model_sha256."


def digest_tag(artifact_path: str) -> str:
    """The run tag under which the SHA-256 of the model at ``artifact_path`` is recorded."""
    return DIGEST_TAG_PREFIX + artifact_path.strip("/")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_model(
    sk_model: Any,
    folder: Path,
    *,
    signature: dict[str, Any] | None = None,
    training_data: dict[str, Any] | None = None,
    input_example: Any = None,
    extra: dict[str, Any] | None = None,
    data: bytes | None = None,
    model_signature: ModelSignature | None = None,
    serialization_format: str = "skops",
    metadata: dict[str, Any] | None = None,
) -> tuple[str, Model]:
    """Serialise ``sk_model`` into ``folder`` with its ``MLmodel`` and JSON description; return the SHA-256 and Model.

    ``data`` are the skops bytes of ``sk_model`` when the caller serialised it already. ``serialization_format``
    ``"pickle"`` / ``"cloudpickle"`` write ``model.pkl`` (loading it then always needs ``trusted=True``).
    The digest is signed with the user's key (see :mod:`nbtrack.sklearn._signing`), so the folder proves it
    was written by nbtrack wherever it is copied to.

    Raises
    ------
    InvalidParameter
        The object cannot be serialised in that format.
    """
    import sklearn

    if serialization_format not in FORMATS:
        raise InvalidParameter(f"serialization_format must be one of {FORMATS}, got {serialization_format!r}.")
    file_name = MODEL_FILE if serialization_format == "skops" else PICKLE_FILE
    if data is None:
        data = (
            serialize(sk_model) if serialization_format == "skops" else _layout.pickle(sk_model, serialization_format)
        )
    sha = hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / file_name, data)
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    if model_signature is None:
        model_signature = signature_from_description(signature)
    extra = dict(extra or {})
    mlmodel = Model(
        artifact_path=extra.get("artifact_path"),
        run_id=extra.get("run_id"),
        utc_time_created=created,
        flavors=_layout.flavors(file_name, serialization_format, sklearn.__version__),
        signature=model_signature,
        model_uuid=uuid.uuid4().hex,
        mlflow_version=_layout.mlflow_version(),
        metadata=metadata,
        model_size_bytes=len(data),
        saved_input_example_info=(
            {"artifact_path": "input_example.json", "type": "dataframe", "pandas_orient": "split"}
            if input_example is not None
            else None
        ),
    )
    meta: dict[str, Any] = {
        "flavor": "sklearn",
        "serialization_format": serialization_format,
        "model_file": file_name,
        "sha256": sha,
        "sha256_hmac": _signing.sign(sha),
        "estimator_class": f"{type(sk_model).__module__}.{type(sk_model).__name__}",
        "sklearn_version": sklearn.__version__,
        "skops_version": _layout.skops_version(),
        "python_version": platform.python_version(),
        "signature": signature,
        "training_data": training_data,
        "utc_time_created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mlmodel": mlmodel.to_dict(),
        **extra,
    }
    if input_example is not None:
        meta["input_example"] = _example_json(input_example)
        _atomic_write(folder / "input_example.json", json.dumps(meta["input_example"], default=str).encode())
    _atomic_write(folder / MLMODEL_FILE, mlmodel.to_yaml().encode())
    requirements = _layout.requirements(serialization_format)
    _atomic_write(folder / "requirements.txt", requirements.encode())
    _atomic_write(folder / "python_env.yaml", _layout.python_env().encode())
    _atomic_write(folder / "conda.yaml", _layout.conda_env(requirements).encode())
    _atomic_write(folder / META_FILE, json.dumps(meta, indent=1, default=str).encode())
    return sha, mlmodel


def signed_digest(folder: Path) -> str | None:
    """The model digest recorded beside the model in ``folder``, if its HMAC proves nbtrack wrote it for this user."""
    meta = read_meta(folder)
    sha = meta.get("sha256")
    if isinstance(sha, str) and _signing.verify(sha, meta.get("sha256_hmac")):
        return sha
    return None


def serialize(sk_model: Any) -> bytes:
    """skops bytes of a model.

    Raises
    ------
    InvalidParameter
        The object cannot be serialised by skops.
    """
    try:
        return _dumps(sk_model)
    except Exception as exc:
        raise InvalidParameter(
            f"Cannot save {type(sk_model).__name__} with skops ({type(exc).__name__}: {exc})."
        ) from exc


def _dumps(obj: Any) -> bytes:
    """skops bytes of ``obj``; the schema is written as compact JSON (C encoder), which is several
    times faster than skops' indented one for models with many nodes (forests). The file is an
    ordinary skops file. Falls back to ``skops.io.dumps`` if skops' internals differ."""
    import io
    import json
    from zipfile import ZIP_STORED, ZipFile

    import skops
    import skops.io as sio

    try:
        from skops.io._utils import SaveContext, get_state
    except ImportError:
        return bytes(sio.dumps(obj))
    buffer = io.BytesIO()
    with ZipFile(buffer, "w", compression=ZIP_STORED) as zip_file:
        context = SaveContext(zip_file=zip_file)
        state = get_state(obj, context)
        context.clear_memo()
        state["protocol"] = context.protocol
        state["_skops_version"] = skops.__version__
        zip_file.writestr("schema.json", json.dumps(state, separators=(",", ":")))
    return buffer.getvalue()


def _example_json(example: Any) -> Any:
    head = example.head(5) if hasattr(example, "head") else example[:5]
    if hasattr(head, "to_dict"):
        return head.to_dict(orient="split")
    return head.tolist() if hasattr(head, "tolist") else list(head)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def read_meta(folder: Path) -> dict[str, Any]:
    """The model's ``nbtrack_model.json`` (empty dict if absent or unreadable)."""
    try:
        meta = json.loads((folder / META_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def model_file(local_path: Path) -> Path:
    """The model file of a model folder (or the file itself): ``model.skops``, or ``model.pkl`` for pickles.

    Raises
    ------
    NotFound
        Neither a model folder nor a model file.
    """
    try:
        if local_path.is_file():
            return local_path
        for name in (MODEL_FILE, PICKLE_FILE):
            candidate = local_path / name
            if candidate.is_file():
                return candidate
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL...
        raise NotFound(f"No model at {str(local_path)[:80]!r}: {exc}.") from None
    raise NotFound(f"No model at {local_path}: expected a folder with {MODEL_FILE} (written by log_model/save_model).")


def load_file(
    path: Path, *, expected_sha256: str | None, origin: str, trusted: bool | list[str] | tuple[str, ...] | None
) -> Any:
    """Load a skops file, trusting its types only as the module docstring describes.

    Parameters
    ----------
    path : Path
        The ``model.skops`` file.
    expected_sha256 : str or None
        The digest recorded in the store, or ``None`` if the store holds no record.
    origin : str
        Where the file came from, for messages.
    trusted : bool, list of str or None
        ``True`` trusts every type in the file; a list trusts those types. Either is
        the explicit consent a file without a matching digest needs.

    Raises
    ------
    UntrustedModel
        The file holds types that are not trusted; the message lists them and why.
    InvalidModelFile
        The file is not a skops file, is damaged, or holds a malformed tree.
    InvalidParameter
        ``trusted`` is neither None, a bool nor a list of type names.
    """
    from nbtrack.sklearn import _trust

    if not (trusted is None or isinstance(trusted, bool)) and (
        not isinstance(trusted, (list, tuple)) or not all(isinstance(t, str) for t in trusted)
    ):
        raise InvalidParameter(
            f"trusted must be None, True or a list of type names (str), got {type(trusted).__name__}."
        )
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InvalidModelFile(f"{origin}: {path} is a folder, not a model file.") from None
    schema = _trust.read_schema(data, origin)
    untrusted = _guarded(origin, lambda: list(_sio().get_untrusted_types(data=data)))
    if trusted is True:
        return _guarded(origin, lambda: _sio().loads(data, trusted=untrusted))
    explicit = trusted is not None and trusted is not False
    allowed = set(trusted or ())
    actual = hashlib.sha256(data).hexdigest()
    digest_ok = expected_sha256 is not None and actual == expected_sha256
    widened = _trust.widened(untrusted, schema) if digest_ok else set()
    missing = [t for t in untrusted if t not in allowed and t not in widened]
    if missing or not (digest_ok or explicit):
        if expected_sha256 is None:
            why = f"{origin} has no digest recorded in this store (the file was not written by nbtrack here)"
        elif not digest_ok:
            why = (
                f"the file's SHA-256 {actual[:12]}... does not match the {expected_sha256[:12]}... recorded "
                "when nbtrack wrote it (the file was changed or replaced)"
            )
        else:
            why = (
                "these types do not belong to scikit-learn, or are not among its types that nbtrack reviewed "
                "and trusts (functions and objects called while loading never are)"
            )
        listed = f"untrusted types {missing}" if missing else "no types beyond skops' defaults"
        raise UntrustedModel(
            f"Refusing to load {path}: {why}; it holds {listed}. "
            f"If you trust this file, pass trusted={missing!r} (or trusted=True)."
        )
    names = (allowed | widened) & set(untrusted)
    model = _guarded(origin, lambda: _sio().loads(data, trusted=sorted(names)))
    _trust.check_content(model, widened, origin)
    return model


def _sio() -> Any:
    import skops.io as sio

    return sio


def _guarded(origin: str, call: Any) -> Any:
    """Run a skops call; a damaged file (any error but skops' untrusted-types refusal) becomes InvalidModelFile."""
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return call()
    except UntrustedTypesFoundException as exc:
        raise UntrustedModel(f"Refusing to load {origin}: {exc}") from None
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise InvalidModelFile(f"{origin} is a damaged skops file ({type(exc).__name__}: {exc}).") from None


def signature_of(X: Any) -> dict[str, Any] | None:
    """The input signature recorded for a model trained on ``X``."""
    if X is None:
        return None
    from nbtrack.autolog.datasets import describe

    info = describe(X)
    info["shape"] = [-1, *info["shape"][1:]] if info["shape"] else []
    return info


def training_info(train: Any) -> dict[str, Any] | None:
    """The training-data fingerprint recorded beside a model."""
    if train is None:
        return None
    d = train.dataset
    return {"name": d.name, "digest": d.digest, "schema": d.schema, "profile": d.profile}


def log_to_run(
    client: Any,
    run_id: str,
    sk_model: Any,
    artifact_path: str,
    *,
    X: Any = None,
    train: Any = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    signature: dict[str, Any] | None = None,
    data: bytes | None = None,
    model_signature: ModelSignature | None = None,
    serialization_format: str = "skops",
    metadata: dict[str, Any] | None = None,
) -> ModelInfo:
    """Write ``sk_model`` into a run's artifacts, record its SHA-256 in the store, register it if asked."""
    from nbtrack.tracking.artifacts import safe_join

    if not isinstance(artifact_path, str) or not artifact_path.strip("/"):
        raise InvalidParameter(f"artifact_path must be a non-empty relative path, got {artifact_path!r}.")
    artifact_path = artifact_path.strip("/")
    folder = safe_join(client.artifact_dir(run_id), artifact_path)
    sha, mlmodel = write_model(
        sk_model,
        folder,
        signature=signature if signature is not None else signature_of(X),
        training_data=training_info(train),
        input_example=input_example,
        extra={"run_id": run_id, "artifact_path": artifact_path},
        data=data,
        model_signature=model_signature,
        serialization_format=serialization_format,
        metadata=metadata,
    )
    client.set_tag(run_id, digest_tag(artifact_path), sha)
    uri = f"runs:/{run_id}/{artifact_path}"
    version = None
    if registered_model_name:
        from nbtrack.registry import register_model

        version = register_model(uri, registered_model_name, client=client).version
    return ModelInfo(
        artifact_path,
        run_id,
        uri,
        sha,
        str(folder),
        version,
        flavors=mlmodel.flavors,
        signature=mlmodel.signature,
        utc_time_created=mlmodel.utc_time_created,
        model_uuid=mlmodel.model_uuid,
        mlflow_version=mlmodel.mlflow_version,
        saved_input_example_info=mlmodel.saved_input_example_info,
        metadata=mlmodel.metadata,
    )
