"""``GET runs/<id>/artifact``: previews (text, JSON, CSV head, images) and downloads, kept inside the run folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import nbtrack

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 16


@pytest.fixture
def run_id(tracking: nbtrack.TrackingClient) -> str:
    run = tracking.create_run("0", run_name="with-files").info.run_id
    tracking.log_text("hello\nworld\n", "notes.txt")
    return run


def _log(tracking: nbtrack.TrackingClient, run_id: str, rel: str, data: bytes) -> None:
    folder = Path(tracking.download_artifacts(run_id))
    target = folder / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


async def test_previews_text_json_csv_and_image(api: Any, tracking: nbtrack.TrackingClient) -> None:
    # Given a run with a text, a JSON, a CSV of 30 rows and a PNG artifact
    run_id = tracking.create_run("0", run_name="files").info.run_id
    _log(tracking, run_id, "notes.txt", b"hello\n")
    _log(tracking, run_id, "metrics/summary.json", json.dumps({"acc": 0.9}).encode())
    _log(tracking, run_id, "pred.csv", b"y,p\n" + b"".join(f"{i},{i % 2}\n".encode() for i in range(30)))
    _log(tracking, run_id, "plots/roc.png", PNG)
    # When previewing each
    text = await api("runs", run_id, "artifact", params={"path": "notes.txt", "preview": "1"})
    doc = await api("runs", run_id, "artifact", params={"path": "metrics/summary.json", "preview": "1"})
    table = await api("runs", run_id, "artifact", params={"path": "pred.csv", "preview": "1"})
    image = await api("runs", run_id, "artifact", params={"path": "plots/roc.png", "preview": "1"})
    # Then each comes back in the form the sidebar shows
    assert text == {"path": "notes.txt", "kind": "text", "size": 6, "truncated": False, "content": "hello\n"}
    assert doc["kind"] == "json" and doc["content"] == {"acc": 0.9}
    assert table["kind"] == "csv" and table["rows"][0] == ["y", "p"] and len(table["rows"]) == 21
    assert table["truncated"] is True
    assert image["kind"] == "image" and "content" not in image


async def test_download_sends_the_bytes_as_an_attachment(jp_fetch: Any, tracking: nbtrack.TrackingClient) -> None:
    run_id = tracking.create_run("0", run_name="files").info.run_id
    _log(tracking, run_id, "plots/roc.png", PNG)
    response = await jp_fetch("nbtrack", "api", "runs", run_id, "artifact", params={"path": "plots/roc.png"})
    assert response.body == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == "attachment; filename*=UTF-8''roc.png"


async def test_html_is_never_served_as_html(jp_fetch: Any, tracking: nbtrack.TrackingClient) -> None:
    run_id = tracking.create_run("0", run_name="files").info.run_id
    _log(tracking, run_id, "report.html", b"<script>alert(1)</script>")
    response = await jp_fetch("nbtrack", "api", "runs", run_id, "artifact", params={"path": "report.html"})
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["../../nbtrack.json", "/etc/passwd", "a/../../b"])
async def test_paths_out_of_the_run_folder_are_refused(
    jp_fetch: Any, tracking: nbtrack.TrackingClient, path: str
) -> None:
    run_id = tracking.create_run("0", run_name="files").info.run_id
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("nbtrack", "api", "runs", run_id, "artifact", params={"path": path, "preview": "1"})
    assert err.value.code == 400
    assert "inside the run" in json.loads(err.value.response.body)["message"]


async def test_missing_file_and_folder_are_clear_errors(jp_fetch: Any, tracking: nbtrack.TrackingClient) -> None:
    run_id = tracking.create_run("0", run_name="files").info.run_id
    _log(tracking, run_id, "model/MLmodel", b"flavor: sklearn\n")
    with pytest.raises(HTTPClientError) as missing:
        await jp_fetch("nbtrack", "api", "runs", run_id, "artifact", params={"path": "nope.txt"})
    assert missing.value.code == 404
    with pytest.raises(HTTPClientError) as folder:
        await jp_fetch("nbtrack", "api", "runs", run_id, "artifact", params={"path": "model"})
    assert folder.value.code == 400 and "folder" in json.loads(folder.value.response.body)["message"]
