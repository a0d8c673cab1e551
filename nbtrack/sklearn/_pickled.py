"""Loading models saved with ``serialization_format="pickle"`` / ``"cloudpickle"``: only with ``trusted=True``.

Unpickling runs whatever code the file names, so no digest, signature or type list makes a pickle safe; the
caller's explicit ``trusted=True`` is the only consent accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbtrack.errors import UntrustedModel


def load_pickled(path: Path, *, origin: str, trusted: Any) -> Any:
    """Unpickle the model file ``path`` if ``trusted is True``.

    Raises
    ------
    UntrustedModel
        ``trusted`` is anything but ``True``.
    """
    if trusted is not True:
        raise UntrustedModel(
            f"Refusing to load {path} (from {origin!r}): it is a pickle, and unpickling runs code from the file. "
            "If you trust this file, pass trusted=True; save models with serialization_format='skops' to avoid this."
        )
    import pickle

    with open(path, "rb") as fh:
        return pickle.load(fh)  # cloudpickle files load with pickle once cloudpickle is importable
