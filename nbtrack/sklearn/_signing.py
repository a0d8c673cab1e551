"""Proof that a model folder outside any store was written by nbtrack: an HMAC of its digest, kept beside it.

``save_model(model, path)`` records the model file's SHA-256 in ``nbtrack_model.json`` together with an
HMAC-SHA256 of that digest under a secret key private to the user (``~/.config/nbtrack/model.key``, created with
mode 0600 on first use; ``NBTRACK_KEY_FILE`` points elsewhere). ``load_model(path)`` accepts the recorded digest
only when the HMAC checks out, so a file edited afterwards, or a folder written by someone without the key, still
needs ``trusted=...``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def key_file() -> Path:
    """Where the user's model-signing key lives."""
    override = os.environ.get("NBTRACK_KEY_FILE")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "nbtrack" / "model.key"


def _key(create: bool) -> bytes | None:
    path = key_file()
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except OSError:
        pass
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    data = secrets.token_bytes(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    try:
        os.link(tmp, path)  # first writer wins; a concurrent one reads the winner's key
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def sign(sha256: str) -> str | None:
    """The HMAC of a model digest under the user's key (``None`` if the key cannot be created)."""
    try:
        key = _key(create=True)
    except OSError:
        return None
    return hmac.new(key, sha256.encode(), hashlib.sha256).hexdigest() if key else None


def verify(sha256: str, mac: str | None) -> bool:
    """Whether ``mac`` is the user's HMAC of ``sha256``."""
    if not mac or not sha256:
        return False
    try:
        key = _key(create=False)
    except OSError:
        return False
    if key is None:
        return False
    return hmac.compare_digest(hmac.new(key, sha256.encode(), hashlib.sha256).hexdigest(), mac)
