"""Measure a model variant: accuracy, AUC, size and invoke latency of its .tflite."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from eyegrad.runtime.timing import time_call
from eyegrad.runtime.metrics import binary_report
from eyegrad.runtime.model import EyeModel

from .prune import gzipped_size


def load_tflite(model_bytes: bytes, num_threads: Optional[int] = 1) -> EyeModel:
    """An EyeModel from bytes (through a temporary file, as a user would load it)."""
    with tempfile.NamedTemporaryFile(suffix=".tflite", delete=False) as f:
        f.write(model_bytes)
    try:
        return EyeModel(f.name, num_threads=num_threads)
    finally:
        Path(f.name).unlink()


def measure_tflite(name: str, model_bytes: bytes, val_views: List[np.ndarray], val_y: np.ndarray,
                   params: int, sparsity: float, threshold: float = 0.5) -> Dict:
    """One row of the optimization table for a .tflite variant (p_fake averaged over the views)."""
    model = load_tflite(model_bytes)
    pred = np.mean([model.predict(x) for x in val_views], axis=0)
    report = binary_report(val_y, pred, threshold)
    one = val_views[0][0]
    return {"variant": name, "format": "tflite", "params": params, "sparsity": round(sparsity, 3),
            "size_bytes": len(model_bytes), "gzip_bytes": gzipped_size(model_bytes),
            "accuracy": report["accuracy"], "auc": report["auc"],
            "invoke_ms_1thread": time_call(lambda: model.predict_one(one), runs=200, warmup=20)["p50"], "pred": pred}


def measure_keras(name: str, model, val_views: List[np.ndarray], val_y: np.ndarray, sparsity: float = 0.0) -> Dict:
    """One row for a Keras (fp32) model, p_fake averaged over the views."""
    pred = np.mean([model.predict(x, batch_size=256, verbose=0).reshape(-1) for x in val_views], axis=0)
    report = binary_report(val_y, pred)
    return {"variant": name, "format": "keras fp32", "params": int(model.count_params()),
            "sparsity": round(sparsity, 3), "size_bytes": None, "gzip_bytes": None,
            "accuracy": report["accuracy"], "auc": report["auc"], "invoke_ms_1thread": None, "pred": pred}


def ensemble_row(name: str, members: List[Dict], val_y: np.ndarray) -> Dict:
    """A row for the mean logit of fp32 rows' predictions (what a distiller's teachers agree on)."""
    p = np.clip(np.stack([m["pred"] for m in members]), 1e-6, 1 - 1e-6)
    pred = 1.0 / (1.0 + np.exp(-np.mean(np.log(p) - np.log1p(-p), axis=0)))
    report = binary_report(val_y, pred)
    return {**members[0], "variant": name, "params": sum(m["params"] for m in members),
            "accuracy": report["accuracy"], "auc": report["auc"], "pred": pred}
