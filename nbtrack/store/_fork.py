"""Fork safety: every live store re-creates its locks, handles and caches in a forked child."""

from __future__ import annotations

import os
import weakref
from typing import Any

from nbtrack.store import _process

_stores: weakref.WeakSet[Any] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    _process.forget_own_marker()
    for store in list(_stores):
        store._after_fork()


def forked_stores() -> weakref.WeakSet[Any]:
    """The set a store adds itself to; each member's ``_after_fork()`` runs in a forked child."""
    return _stores


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
