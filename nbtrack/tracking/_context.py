"""Tags every run gets for free: user, source, git commit, Python and package versions."""

from __future__ import annotations

import getpass
import os
import platform
import random
import sys
from functools import cache
from pathlib import Path

from nbtrack.entities import Tags

_ADJECTIVES = [
    "amber",
    "brave",
    "calm",
    "clever",
    "crisp",
    "daring",
    "eager",
    "fancy",
    "gentle",
    "glowing",
    "honest",
    "jolly",
    "keen",
    "lively",
    "lucky",
    "merry",
    "nimble",
    "polite",
    "quick",
    "quiet",
    "rapid",
    "shiny",
    "silent",
    "smart",
    "sunny",
    "swift",
    "tidy",
    "upbeat",
    "vivid",
    "witty",
    "zesty",
]
_NOUNS = [
    "badger",
    "bison",
    "crane",
    "dolphin",
    "eagle",
    "falcon",
    "fox",
    "gecko",
    "heron",
    "ibis",
    "jaguar",
    "koala",
    "lemur",
    "lynx",
    "mole",
    "newt",
    "otter",
    "owl",
    "panda",
    "quail",
    "raven",
    "seal",
    "shark",
    "sloth",
    "stork",
    "tiger",
    "toad",
    "trout",
    "whale",
    "wolf",
    "yak",
    "zebra",
]


def random_run_name() -> str:
    """A readable run name such as ``swift-otter-417``."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(100, 999)}"


@cache
def current_user() -> str:
    """The OS user name, or ``unknown``."""
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def notebook_path() -> str | None:
    """The notebook this kernel serves, when the front end tells (Jupyter server or VS Code)."""
    name = os.environ.get("JPY_SESSION_NAME")
    if name:
        return name
    main = sys.modules.get("__main__")
    vsc = getattr(main, "__vsc_ipynb_file__", None)
    if isinstance(vsc, str):
        return vsc
    return None


def _git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # worktree: "gitdir: <path>"
            text = candidate.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                return (folder / text[7:].strip()).resolve()
    return None


@cache
def git_commit(cwd: str) -> str | None:
    """The commit checked out in the repository holding ``cwd``, read from ``.git`` (no subprocess)."""
    try:
        git = _git_dir(Path(cwd))
        if git is None:
            return None
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head[4:].strip()
        common = git
        if (git / "commondir").exists():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        for base in (git, common):
            ref_file = base / ref
            if ref_file.exists():
                return ref_file.read_text().strip() or None
        packed = common / "packed-refs"
        if packed.exists():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0]
    except OSError:
        return None
    return None


def package_versions() -> str:
    """Versions of the ML packages already imported (no import is triggered)."""
    parts = []
    for module, label in (
        ("sklearn", "scikit-learn"),
        ("numpy", "numpy"),
        ("pandas", "pandas"),
        ("skops", "skops"),
        ("xgboost", "xgboost"),
        ("lightgbm", "lightgbm"),
    ):
        mod = sys.modules.get(module)
        version = getattr(mod, "__version__", None) if mod else None
        if version:
            parts.append(f"{label}=={version}")
    return ", ".join(parts)


def context_tags() -> dict[str, str]:
    """The automatic tags of a new run (MLflow's names where MLflow has one)."""
    from nbtrack.version import __version__

    tags = {Tags.USER: current_user(), Tags.PYTHON: platform.python_version(), Tags.VERSION: __version__}
    nb = notebook_path()
    if nb:
        tags[Tags.SOURCE_NAME] = nb
        tags[Tags.SOURCE_TYPE] = "NOTEBOOK"
    else:
        argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "<console>"
        tags[Tags.SOURCE_NAME] = argv0
        tags[Tags.SOURCE_TYPE] = "LOCAL"
    commit = git_commit(os.getcwd())
    if commit:
        tags[Tags.GIT_COMMIT] = commit
    versions = package_versions()
    if versions:
        tags[Tags.PACKAGES] = versions
    return tags
