"""Images and tables of the fluent API: ``log_image``, ``log_table``, ``load_table`` (MLflow's names and layout).

* ``log_image(image, "plot.png")`` writes the image as that artifact file.
* ``log_image(image, key="sample", step=3)`` writes ``images/sample+step+3+timestamp+<ms>+<uuid>.png`` and a
  ``...+compressed.webp`` thumbnail (MLflow's layout for images over steps) and sets the run tag
  ``mlflow.loggedImages``.
* ``log_table(data, "table.json")`` writes ``{"columns": [...], "data": [[...]]}`` and records the file in the run tag
  ``mlflow.loggedArtifacts``; ``load_table`` reads it back from every run of the active experiment that has it.
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from nbtrack import _validation as v
from nbtrack.entities import Tags
from nbtrack.errors import InvalidParameter
from nbtrack.tracking import state
from nbtrack.tracking._fluent_runs import active_experiment_id, run_id_for_logging
from nbtrack.tracking.artifacts import safe_join, write_bytes

LOGGED_ARTIFACTS_TAG = Tags.LOGGED_ARTIFACTS
LOGGED_IMAGES_TAG = Tags.LOGGED_IMAGES
_KEY_CHARS = re.compile(r"[^\w\-./ ]")


def _pil_image(image: Any) -> Any:
    """A PIL image of a PIL image, an ``nbtrack``/MLflow ``Image`` wrapper or a numpy array (MLflow's rules)."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - pillow comes with matplotlib
        raise InvalidParameter("log_image needs Pillow: pip install pillow.") from exc
    if isinstance(image, Image.Image):
        return image
    inner = getattr(image, "to_pil", None)
    if callable(inner):
        return inner()
    import numpy as np

    if not isinstance(image, np.ndarray):
        raise InvalidParameter(f"log_image takes a numpy array or a PIL image, got {type(image).__name__}.")
    arr = image
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InvalidParameter(
            f"Invalid array shape {image.shape}: an image is (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)."
        )
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        if arr.size and (np.nanmin(arr) < 0.0 or np.nanmax(arr) > 1.0):
            raise InvalidParameter("Float images must have values in [0, 1]; scale them or pass uint8 in [0, 255].")
        arr = (np.nan_to_num(arr) * 255).round().astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise InvalidParameter("Integer images must have values in [0, 255].")
        arr = arr.astype(np.uint8)
    else:
        raise InvalidParameter(f"Invalid array dtype {arr.dtype} for an image: use uint8, an integer, float or bool.")
    return Image.fromarray(arr)


def _png(image: Any, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    img = _pil_image(image)
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    img.save(buffer, format=fmt)
    return buffer.getvalue()


def _thumbnail(image: Any, max_size: int = 200) -> bytes:
    """A WebP copy scaled to fit a ``max_size`` square, keeping the aspect ratio (MLflow's compressed image)."""
    width, height = image.size
    scale = max_size / max(width, height, 1)
    small = image.resize((max(1, int(width * scale)), max(1, int(height * scale))))
    if small.mode not in ("RGB", "RGBA", "L"):
        small = small.convert("RGBA")
    buffer = io.BytesIO()
    small.save(buffer, format="WEBP")
    return buffer.getvalue()


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> None:
    """Log an image (a numpy array or a PIL image) on the active run.

    Parameters
    ----------
    image : numpy.ndarray or PIL.Image.Image
        Arrays are (H, W) grayscale, (H, W, 3) RGB or (H, W, 4) RGBA; uint8 in [0, 255], floats in [0, 1].
    artifact_file : str, optional
        Save as this file (its extension picks the format: ``.png``, ``.jpg``...).
    key : str, optional
        Log as an image over steps instead: ``images/<key>+step+<step>+timestamp+<ms>+<uuid>.png``.
    step : int, optional
        With ``key``; 0 by default.
    timestamp : int, optional
        With ``key``; milliseconds since the epoch, now by default.
    synchronous : bool, optional
        Accepted for MLflow compatibility; every write is synchronous.

    Raises
    ------
    InvalidParameter
        Neither or both of ``artifact_file`` and ``key``; an array of the wrong shape, dtype or range.
    """
    if (artifact_file is None) == (key is None):
        raise InvalidParameter("log_image takes exactly one of artifact_file or key (with step).")
    client = state.get_client()
    run_id = run_id_for_logging()
    root = client.artifact_dir(run_id)
    if artifact_file is not None:
        ext = artifact_file.rsplit(".", 1)[-1].lower() if "." in artifact_file else "png"
        fmt = {"jpg": "JPEG", "jpeg": "JPEG", "gif": "GIF", "bmp": "BMP", "tif": "TIFF", "tiff": "TIFF"}
        write_bytes(root, artifact_file, _png(image, fmt.get(ext, "PNG")))
        return
    assert key is not None
    v.validate_key(key, "image key")
    st = v.validate_step(step)
    ts = int(time.time() * 1000) if timestamp is None else v.validate_timestamp(timestamp)
    name = f"{_KEY_CHARS.sub('_', key).replace('/', '#')}+step+{st}+timestamp+{ts}+{uuid.uuid4()}"
    pil = _pil_image(image)
    write_bytes(root, f"images/{name}.png", _png(pil))
    write_bytes(root, f"images/{name}+compressed.webp", _thumbnail(pil))  # what MLflow's UI shows per step
    client.set_tag(run_id, LOGGED_IMAGES_TAG, "True")


def _table_frame(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        try:
            return pd.DataFrame.from_dict(data)
        except ValueError as exc:
            raise InvalidParameter(f"log_table could not make a table of the dict: {exc}") from exc
    raise InvalidParameter(f"log_table takes a dict or a pandas DataFrame, got {type(data).__name__}.")


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a table as a JSON artifact (``{"columns": [...], "data": [[...]]}``), as MLflow does.

    Parameters
    ----------
    data : dict or pandas.DataFrame
        A dict of columns, or a DataFrame.
    artifact_file : str
        A ``.json`` path inside the run's artifacts, e.g. ``"results/table.json"``.
    run_id : str, optional
        Log into this run instead of the active one.

    Raises
    ------
    InvalidParameter
        ``artifact_file`` does not end in ``.json``, or ``data`` is not a table.
    """
    if not isinstance(artifact_file, str) or not artifact_file.endswith(".json"):
        raise InvalidParameter(f"log_table writes JSON: artifact_file must end with '.json', got {artifact_file!r}.")
    frame = _table_frame(data)
    client = state.get_client()
    target = run_id if run_id is not None else run_id_for_logging()
    text = frame.to_json(orient="split", index=False, date_format="iso", default_handler=str)
    write_bytes(client.artifact_dir(target), artifact_file, text.encode())
    logged = client.get_run(target).data.tags.get(LOGGED_ARTIFACTS_TAG)
    try:
        entries = json.loads(logged) if logged else []
    except ValueError:
        entries = []
    entry = {"path": artifact_file, "type": "table"}
    if entry not in entries:
        entries.append(entry)
        client.set_tag(target, LOGGED_ARTIFACTS_TAG, json.dumps(entries))


def _read_table(path: Any) -> Any:
    import pandas as pd

    payload = json.loads(path.read_text())
    return pd.DataFrame(payload.get("data", []), columns=payload.get("columns"))


def load_table(
    artifact_file: str, run_ids: Sequence[str] | None = None, extra_columns: Sequence[str] | None = None
) -> Any:
    """Read a table logged by :func:`log_table` from several runs into one DataFrame.

    Parameters
    ----------
    artifact_file : str
        The path given to :func:`log_table`.
    run_ids : list of str, optional
        The runs to read; by default every run of the active experiment that logged the table.
    extra_columns : list of str, optional
        Run attributes to add as columns, e.g. ``["run_id"]``.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    NotFound
        No run (among ``run_ids``) has the table.
    """
    import pandas as pd

    from nbtrack.errors import NotFound

    client = state.get_client()
    if run_ids is None:
        ids = [r.info.run_id for r in client.search_runs([active_experiment_id()], max_results=100000)]
    else:
        ids = list(run_ids)
    frames = []
    for rid in ids:
        path = safe_join(client.artifact_dir(rid), artifact_file)
        if not path.is_file():
            continue
        frame = _read_table(path)
        if extra_columns:
            info = client.get_run(rid).info.to_dict()
            for column in extra_columns:
                if column not in info:
                    raise InvalidParameter(f"extra_columns: {column!r} is not a run attribute; try 'run_id'.")
                frame[column] = info[column]
        frames.append(frame)
    if not frames:
        raise NotFound(f"No runs found with the corresponding table artifact {artifact_file!r}.")
    return pd.concat(frames, ignore_index=True)
