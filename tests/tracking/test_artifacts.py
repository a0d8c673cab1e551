"""Artifacts: files, folders, text, dicts and figures, never outside the run's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.tracking.client import TrackingClient

RUN_ON_SERVER = True  # also against a real MLflow tracking server (tests/conftest.py)


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")} if root.exists() else set()


def test_log_artifact_file_and_folder_then_list_and_download(client: TrackingClient, tmp_path: Path) -> None:
    run_id = client.create_run("0").info.run_id
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "sub" / "b.txt").write_text("BB")
    client.log_artifact(run_id, src / "a.txt")
    client.log_artifact(run_id, src / "a.txt", artifact_path="nested/dir")
    client.log_artifacts(run_id, src, artifact_path="all")
    top = {(f.path, f.is_dir) for f in client.list_artifacts(run_id)}
    assert top == {("a.txt", False), ("nested", True), ("all", True)}
    listed = {f.path: f.file_size for f in client.list_artifacts(run_id, "all")}
    assert listed == {"all/a.txt": 1, "all/sub": None}
    local = client.download_artifacts(run_id, "all/sub/b.txt")
    assert Path(local).read_text() == "BB"
    copied = client.download_artifacts(run_id, "nested/dir/a.txt", dst_path=str(tmp_path / "dl"))
    assert Path(copied).read_text() == "A" and Path(copied).is_relative_to(tmp_path / "dl")
    with pytest.raises(NotFound):
        client.download_artifacts(run_id, "missing.txt")
    with pytest.raises(NotFound):
        client.log_artifact(run_id, tmp_path / "missing.txt")


def test_log_text_and_dict(client: TrackingClient) -> None:
    run_id = client.create_run("0").info.run_id
    client.log_text(run_id, "hello", "notes/readme.md")
    client.log_dict(run_id, {"a": 1, "b": [1, 2]}, "config.json")
    root = Path(client.download_artifacts(run_id))
    assert (root / "notes" / "readme.md").read_text() == "hello"
    assert json.loads((root / "config.json").read_text()) == {"a": 1, "b": [1, 2]}
    with pytest.raises(InvalidParameter):
        client.log_text(run_id, b"bytes", "x.txt")  # type: ignore[arg-type]


def test_log_figure_matplotlib_png_and_plotly_html(client: TrackingClient) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    run_id = client.create_run("0").info.run_id
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    client.log_figure(run_id, fig, "plots/line.png")
    plt.close(fig)
    client.log_figure(run_id, go.Figure(go.Scatter(y=[1, 3, 2])), "plots/scatter.html")
    root = Path(client.download_artifacts(run_id))
    assert (root / "plots" / "line.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    html = (root / "plots" / "scatter.html").read_text()
    assert "<html" in html and "plotly" in html.lower()
    with pytest.raises(InvalidParameter, match="html"):
        client.log_figure(run_id, go.Figure(), "scatter.png")
    with pytest.raises(InvalidParameter, match="matplotlib or plotly"):
        client.log_figure(run_id, object(), "x.png")


@pytest.mark.parametrize("bad", ["../escape.txt", "a/../../escape.txt", "/tmp/abs.txt", "..", "C:/win.txt"])
def test_paths_escaping_the_run_folder_are_rejected_and_nothing_is_written(
    client: TrackingClient, tmp_path: Path, bad: str
) -> None:
    run_id = client.create_run("0").info.run_id
    root = Path(client.download_artifacts(run_id))
    store_root = root.parent.parent
    src = tmp_path / "f.txt"
    src.write_text("x")
    before, before_store = _tree(root), _tree(store_root)
    for call in (
        lambda: client.log_text(run_id, "x", bad),
        lambda: client.log_dict(run_id, {"a": 1}, bad),
        lambda: client.log_artifact(run_id, src, artifact_path=bad),
        lambda: client.log_artifacts(run_id, tmp_path, artifact_path=bad),
        lambda: client.list_artifacts(run_id, bad),
        lambda: client.download_artifacts(run_id, bad),
    ):
        with pytest.raises(InvalidParameter, match="artifact"):
            call()
    assert _tree(root) == before
    assert _tree(store_root) == before_store
    assert not (tmp_path / "escape.txt").exists()


def test_a_symlink_leading_out_is_rejected(client: TrackingClient, tmp_path: Path) -> None:
    run_id = client.create_run("0").info.run_id
    root = Path(client.download_artifacts(run_id))
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(InvalidParameter, match="outside"):
        client.log_text(run_id, "x", "link/evil.txt")
    assert list(outside.iterdir()) == []
