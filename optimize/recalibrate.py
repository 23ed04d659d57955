"""Re-score an exported model with the runtime's current views and rewrite its calibration.

The weights are untouched. The model is scored on its training run's validation crops with
the views of ``optimize.metadata`` (``VIEWS`` at every one of ``ZOOMS``); its threshold,
uncertain band, validation metrics, views and zooms are replaced in its metadata. So a
change of views reaches a shipped model without training it again.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from eyegrad.runtime.errors import EyegradError
from eyegrad.train.cache import CONTEXT_GEOMETRY
from eyegrad.train.sequence import view_batches

from .export import embed_metadata
from .metadata import VIEWS, ZOOMS
from .pipeline import calibration, check_size, run_data, same_data_and_split
from .variants import load_tflite


def recalibrate(run_dir: Path, model_path: Path, out: Path, target_precision: float = 0.95,
                workers: int = 0, log=print, command: Optional[str] = None) -> Dict:
    """Write ``model_path`` with a new calibration to ``out``; returns its new metadata."""
    run = json.loads((Path(run_dir) / "run.json").read_text())
    raw = Path(model_path).read_bytes()
    model = load_tflite(raw)
    if not same_data_and_split(model.metadata.get("training") or {}, run):
        raise EyegradError(f"{model_path} was not trained on {run_dir}'s data and split: "
                           "its validation images would include images it trained on")
    data = run_data(run, workers)
    views = view_batches(data.val, CONTEXT_GEOMETRY, model.geometry, VIEWS, ZOOMS)
    pred = np.mean([model.predict(x) for x in views], axis=0)
    cal = calibration(data, pred, target_precision)
    meta = {**model.metadata, "views": list(VIEWS), "zooms": list(ZOOMS), "threshold": cal["threshold"],
            "uncertain_band": cal["band"]["uncertain_band"],
            "calibration": {k: v for k, v in cal["band"].items() if k != "uncertain_band"},
            "metrics": cal["metrics"], "recalibrate_command": command}
    model_bytes = embed_metadata(raw, meta)
    check_size(meta["variant"], len(model_bytes))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(model_bytes)
    v = cal["metrics"]["validation"]
    log(f"wrote {out}: {len(ZOOMS)} zooms x {len(VIEWS)} views, validation accuracy {v['accuracy']:.3f}, "
        f"AUC {v['auc']:.3f}, threshold {cal['threshold']:.3f}, band {cal['band']['uncertain_band']}")
    return meta
