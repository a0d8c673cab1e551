"""Which store the server extension uses when no ``NbtrackServer.store`` is configured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    """nbtrack enabled, no store setting."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"nbtrack": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        }
    }


@pytest.fixture
def no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBTRACK_STORE")


async def test_nbtrack_store_variable_is_used(jp_fetch: Any, tmp_path: Path) -> None:
    # Given NBTRACK_STORE set (by the test isolation) and no setting
    # When asking the server which store it reads
    body = json.loads((await jp_fetch("nbtrack", "api", "version")).body)
    # Then it is the variable's folder
    assert body["store"] == str((tmp_path / "store").resolve())


@pytest.mark.usefixtures("no_store_env")
async def test_default_is_dot_nbtrack_in_the_root_dir(jp_fetch: Any, jp_root_dir: Path) -> None:
    # Given neither a setting nor NBTRACK_STORE
    # When asking the server which store it reads
    body = json.loads((await jp_fetch("nbtrack", "api", "version")).body)
    # Then it is .nbtrack beside the notebooks of the server's root directory
    store = jp_root_dir / ".nbtrack"
    assert body["store"] == str(store.resolve())
    # And starting the server left no folder behind; the first listing opens the store
    assert not store.exists()
    runs = json.loads((await jp_fetch("nbtrack", "api", "runs")).body)
    assert runs["runs"] == [] and store.is_dir()
