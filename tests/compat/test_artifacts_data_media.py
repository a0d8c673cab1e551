"""``mlflow.artifacts``, ``mlflow.data``, ``log_image``, ``log_table`` as MLflow documents them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack as mlflow
import nbtrack.artifacts
import nbtrack.data
from nbtrack.exceptions import MlflowException


def test_artifacts_module_reads_by_uri(tmp_path: Path) -> None:
    with mlflow.start_run() as run:
        mlflow.log_text("hello", "notes/a.txt")
        mlflow.log_dict({"k": [1, 2]}, "cfg.json")
        mlflow.log_image(np.full((3, 5, 3), 200, dtype=np.uint8), "img.png")
    rid = run.info.run_id
    assert mlflow.artifacts.load_text(f"runs:/{rid}/notes/a.txt") == "hello"
    assert mlflow.artifacts.load_dict(f"runs:/{rid}/cfg.json") == {"k": [1, 2]}
    image = mlflow.artifacts.load_image(f"runs:/{rid}/img.png")
    assert image.size == (5, 3) and image.getpixel((0, 0)) == (200, 200, 200)
    copied = mlflow.artifacts.download_artifacts(run_id=rid, artifact_path="notes", dst_path=str(tmp_path / "out"))
    assert (Path(copied) / "a.txt").read_text() == "hello"
    in_store = mlflow.artifacts.download_artifacts(f"runs:/{rid}/cfg.json")
    assert json.loads(Path(in_store).read_text()) == {"k": [1, 2]}
    assert {f.path for f in mlflow.artifacts.list_artifacts(run_id=rid)} == {"notes", "cfg.json", "img.png"}
    with pytest.raises(MlflowException) as missing:
        mlflow.artifacts.load_text(f"runs:/{rid}/nope.txt")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException):
        mlflow.artifacts.load_text(f"runs:/{rid}/../../nbtrack.json")


def test_log_image_takes_arrays_and_pil_images_with_steps() -> None:
    from PIL import Image

    with mlflow.start_run() as run:
        mlflow.log_image(np.zeros((4, 4)), "gray.png")  # float in [0, 1]
        mlflow.log_image(Image.new("RGB", (2, 2), (1, 2, 3)), "pil.png")
        for step in range(3):
            mlflow.log_image(np.random.default_rng(step).random((4, 4, 3)), key="sample/x", step=step)
        with pytest.raises(MlflowException, match=r"\[0, 1\]"):
            mlflow.log_image(np.full((2, 2), 3.0), "bad.png")
        with pytest.raises(MlflowException, match="shape"):
            mlflow.log_image(np.zeros((2, 2, 2), dtype=np.uint8), "bad.png")
        with pytest.raises(MlflowException, match="exactly one"):
            mlflow.log_image(np.zeros((2, 2)))
    client = mlflow.MlflowClient()
    listed = sorted(f.path for f in client.list_artifacts(run.info.run_id, "images"))
    images = [p for p in listed if p.endswith(".png")]
    assert len(images) == 3 and len(listed) == 6
    assert all(p[: -len(".png")] + "+compressed.webp" in listed for p in images)
    assert all(p.startswith("images/sample#x+step+") and p.endswith(".png") for p in images)
    assert [int(p.split("+step+")[1].split("+")[0]) for p in images] == [0, 1, 2]
    assert client.get_run(run.info.run_id).data.tags["mlflow.loggedImages"] == "True"


def test_log_table_and_load_table_across_runs() -> None:
    ids = []
    for i in range(2):
        with mlflow.start_run() as run:
            mlflow.log_table({"x": [i, i + 1], "label": ["a", "b"]}, "tables/t.json")
            ids.append(run.info.run_id)
    with mlflow.start_run():
        pass  # a run without the table is skipped
    path = Path(mlflow.MlflowClient().artifact_dir(ids[0])) / "tables" / "t.json"
    assert json.loads(path.read_text()) == {"columns": ["x", "label"], "data": [[0, "a"], [1, "b"]]}
    tag = json.loads(mlflow.get_run(ids[0]).data.tags["mlflow.loggedArtifacts"])
    assert tag == [{"path": "tables/t.json", "type": "table"}]
    table = mlflow.load_table("tables/t.json", extra_columns=["run_id"])
    assert sorted(table["x"]) == [0, 1, 1, 2]
    assert set(table["run_id"]) == set(ids)
    assert list(mlflow.load_table("tables/t.json", run_ids=[ids[1]])["x"]) == [1, 2]
    with pytest.raises(MlflowException, match="No runs found"):
        mlflow.load_table("absent.json")
    with pytest.raises(MlflowException, match=r"\.json"):
        mlflow.log_table({"a": [1]}, "t.csv", run_id=ids[0])


def test_log_input_with_pandas_and_numpy_datasets(frame: Any) -> None:
    X, y = frame
    df = X.assign(label=y)
    ds = mlflow.data.from_pandas(df, source="data/train.csv", targets="label", name="cancer")
    again = mlflow.data.from_pandas(df.copy(), source="elsewhere.csv")
    assert ds.digest == again.digest and len(ds.digest) == 8
    assert ds.to_dict()["source"] == '{"uri": "data/train.csv"}' and ds.to_dict()["source_type"] == "local"
    assert ds.profile == {"num_rows": len(df), "num_elements": int(df.size)}
    assert json.loads(ds.to_dict()["schema"])["mlflow_colspec"][0]["name"] == "mean radius"
    arr = mlflow.data.from_numpy(X.to_numpy(), targets=y.to_numpy(), name="arr")
    with mlflow.start_run() as run:
        mlflow.log_input(ds, context="training", tags={"split": "train"})
        mlflow.log_inputs([arr], contexts=["eval"])
    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(i.dataset.name, i.context) for i in inputs] == [("cancer", "training"), ("arr", "eval")]
    assert {t.key: t.value for t in inputs[0].tags} == {"split": "train", "mlflow.data.context": "training"}
    assert json.loads(inputs[1].dataset.profile)["features_shape"] == list(X.shape)
    with pytest.raises(MlflowException, match="column"):
        mlflow.data.from_pandas(df, targets="nope")
    with pytest.raises(MlflowException, match="dataset"):
        mlflow.log_input("not a dataset")
