"""MLflow's ``mlflow.models`` names: signatures, the ``MLmodel`` description and :class:`ModelInfo`.

::

    from nbtrack.models import infer_signature
    signature = infer_signature(X_train, model.predict(X_train))
    nbtrack.sklearn.log_model(model, name="model", signature=signature)
"""

from __future__ import annotations

from nbtrack.models.enforcement import enforce_schema
from nbtrack.models.model import MLMODEL_FILE, Model, ModelInfo
from nbtrack.models.signature import ColSpec, ModelSignature, Schema, TensorSpec, infer_signature

__all__ = [
    "MLMODEL_FILE",
    "ColSpec",
    "Model",
    "ModelInfo",
    "ModelSignature",
    "Schema",
    "TensorSpec",
    "enforce_schema",
    "infer_signature",
]
