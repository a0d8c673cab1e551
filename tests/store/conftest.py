"""Fixtures of the store's fault tests: small real file systems where the machine allows mounting them."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> bool:
    try:
        return subprocess.run(["mount", *args], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class Tmpfs:
    """A tmpfs mounted for one test (``path`` is ``None`` where mounting is not allowed)."""

    def __init__(self, base: Path, size: str) -> None:
        self.mountpoint = base / "mnt"
        self.mountpoint.mkdir()
        self.path: Path | None = None
        if os.geteuid() == 0 and _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.mountpoint)):
            self.path = self.mountpoint

    def remount(self, mode: str) -> None:
        assert self.path is not None
        assert _mount("-o", f"remount,{mode}", str(self.mountpoint))

    def close(self) -> None:
        if self.path is not None:
            with contextlib.suppress(Exception):
                subprocess.run(["umount", "-l", str(self.mountpoint)], capture_output=True, timeout=30, check=False)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    """A 4 MiB tmpfs (``.path`` is ``None`` when this machine does not let tests mount one)."""
    fs = Tmpfs(tmp_path, "4m")
    try:
        yield fs
    finally:
        fs.close()
