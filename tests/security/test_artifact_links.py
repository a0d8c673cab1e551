"""Artifact writes never follow a link planted in the run folder, and never write outside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import nbtrack
from nbtrack.errors import InvalidParameter


@pytest.fixture
def run_dir() -> tuple[str, Path]:
    run = nbtrack.start_run()
    return run.info.run_id, nbtrack.MlflowClient().artifact_dir(run.info.run_id)


def test_planted_temporary_link_is_not_followed(run_dir: tuple[str, Path], tmp_path: Path) -> None:
    # Given links at the temporary names an older writer used, pointing outside the store
    _, root = run_dir
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    for name in ("notes.txt", "config.json"):
        os.symlink(outside, root / f".{name}.tmp")
    # When text and a dict are logged
    nbtrack.log_text("new text", "notes.txt")
    nbtrack.log_dict({"a": 1}, "config.json")
    # Then the file outside is untouched and the artifacts are regular files in the run folder
    assert outside.read_text() == "keep"
    assert (root / "notes.txt").read_text() == "new text" and not (root / "notes.txt").is_symlink()
    assert not (root / "config.json").is_symlink()


def test_link_at_the_target_is_not_written_through(run_dir: tuple[str, Path], tmp_path: Path) -> None:
    _, root = run_dir
    outside = tmp_path / "victim.txt"
    outside.write_text("keep")
    os.symlink(outside, root / "report.txt")
    with pytest.raises(InvalidParameter, match="outside"):
        nbtrack.log_text("mine", "report.txt")
    assert outside.read_text() == "keep"


def test_linked_folder_in_the_run_is_refused(run_dir: tuple[str, Path], tmp_path: Path) -> None:
    # Given a folder of the run replaced by a link to a folder outside the store
    _, root = run_dir
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, root / "plots")
    src = tmp_path / "f.txt"
    src.write_text("x")
    # When anything is written below it, Then it is refused and nothing lands outside
    with pytest.raises(InvalidParameter):
        nbtrack.log_text("x", "plots/a.txt")
    with pytest.raises(InvalidParameter):
        nbtrack.log_artifact(src, "plots")
    with pytest.raises(InvalidParameter):
        nbtrack.log_dict({}, "plots/deeper/d.json")
    assert list(elsewhere.iterdir()) == []


def test_log_text_onto_a_folder_is_refused(run_dir: tuple[str, Path]) -> None:
    _, root = run_dir
    nbtrack.log_text("x", "notes/a.txt")
    with pytest.raises(InvalidParameter, match="folder"):
        nbtrack.log_text("y", "notes")
    assert (root / "notes" / "a.txt").read_text() == "x"


def test_logging_a_folder_that_holds_the_store_is_refused(run_dir: tuple[str, Path]) -> None:
    # Given the store inside the folder being logged, a copy would grow forever
    store = Path(nbtrack.get_tracking_uri())
    with pytest.raises(InvalidParameter, match="inside it"):
        nbtrack.log_artifacts(store.parent)


def test_log_artifacts_copies_links_in_the_source_once(run_dir: tuple[str, Path], tmp_path: Path) -> None:
    # Given a source folder with a link loop and a linked file
    _, root = run_dir
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_text("a")
    os.symlink(src, src / "sub" / "loop")
    os.symlink(src / "sub" / "a.txt", src / "b.txt")
    # When it is logged, Then it finishes, copying file contents (links are not recreated)
    nbtrack.log_artifacts(src, "copy")
    assert (root / "copy" / "sub" / "a.txt").read_text() == "a"
    assert (root / "copy" / "b.txt").read_text() == "a" and not (root / "copy" / "b.txt").is_symlink()
    assert not any(p.is_symlink() for p in (root / "copy").rglob("*"))


def test_temporary_files_do_not_linger(run_dir: tuple[str, Path]) -> None:
    _, root = run_dir
    nbtrack.log_text("x", "a/b.txt")
    nbtrack.log_dict({"k": 1}, "a/c.json")
    assert sorted(p.name for p in (root / "a").iterdir()) == ["b.txt", "c.json"]


def test_the_stores_local_artifact_writes_never_follow_a_planted_temp_link(tmp_path: Path) -> None:
    from nbtrack.store.artifacts import write_file

    # Given a run folder holding the temporary name of a coming write as a link to a file outside it
    root = tmp_path / "run"
    root.mkdir()
    victim = tmp_path / "outside.txt"
    (root / ".a.txt.tmp").symlink_to(victim)
    # When the store writes that artifact
    write_file(root, "a.txt", b"hello")
    # Then the artifact is in the folder and nothing was written through the link
    assert (root / "a.txt").read_bytes() == b"hello"
    assert not victim.exists()
