"""Re-score an exported model with a set of views and rewrite its calibration.

The weights are untouched. The model is scored on its training run's validation crops with
the views asked (by default ``VIEWS`` of ``optimize.metadata``, at every one of ``ZOOMS``); its
threshold, uncertain bands (image and video), validation metrics, views and zooms are replaced in
its metadata. So a change of views reaches a shipped model without training it again.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.metadata import ModelMetadata
from eyegrad.runtime.model import EyeModel, parse_metadata
from eyegrad.train.cache import CONTEXT_GEOMETRY, CropSet
from eyegrad.train.config import load_run
from eyegrad.train.run import RunData
from eyegrad.train.sequence import view_batches

from .calibrate import BandTargets, calibration
from .export import check_size, embed_metadata
from .metadata import VIEWS, ZOOMS
from .rundata import run_data, same_data_and_split
from .variants import load_tflite

logger = logging.getLogger(__name__)


def recalibrate(run_dir: Path, model_path: Path, out: Path, targets: BandTargets = BandTargets(),
                workers: int = 0, command: Optional[str] = None, views: Sequence[str] = VIEWS) -> ModelMetadata:
    """Write ``model_path`` with a new calibration on ``run_dir``'s validation to ``out``; returns its new metadata."""
    run = load_run(run_dir)
    raw = Path(model_path).read_bytes()
    if not same_data_and_split(parse_metadata(raw).training or {}, run.record):
        raise EyegradError(f"{model_path} was not trained on {run_dir}'s data and split: "
                           "its validation images would include images it trained on")
    return write_recalibrated(raw, run_data(run, workers), out, targets, command, views)


def view_scores(model: EyeModel, crops: CropSet, views: Optional[Sequence[str]] = None) -> np.ndarray:
    """p_fake of every crop as the runtime scores it: the mean over ``views`` (default: the model's
    own) at every one of ``ZOOMS``."""
    batches = view_batches(crops, CONTEXT_GEOMETRY, model.geometry, views or model.views, ZOOMS)
    return np.mean([model.predict(x) for x in batches], axis=0)


def write_recalibrated(raw: bytes, data: RunData, out: Path, targets: BandTargets = BandTargets(),
                       command: Optional[str] = None, views: Sequence[str] = VIEWS) -> ModelMetadata:
    """Write the model ``raw`` to ``out`` calibrated on ``data``'s validation crops (which it must not
    have trained on) with ``views`` at the current zooms; returns its new metadata."""
    model = load_tflite(raw)
    cal = calibration(data, view_scores(model, data.val, views), targets)
    meta = dataclasses.replace(model.metadata, views=tuple(views), zooms=ZOOMS, threshold=cal["threshold"],
                               uncertain_band=cal["band"]["uncertain_band"], video_band=cal["video_band"],
                               calibration={k: v for k, v in cal["band"].items() if k != "uncertain_band"},
                               metrics=cal["metrics"], recalibrate_command=command)
    model_bytes = embed_metadata(raw, meta)
    check_size(meta.variant, len(model_bytes))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(model_bytes)
    v = cal["metrics"]["validation"]
    logger.info("wrote %s: %d zooms x %d views, validation accuracy %.3f, AUC %.3f, threshold %.3f, band %s, "
                "video band %s", out, len(ZOOMS), len(views), v["accuracy"], v["auc"], cal["threshold"],
                cal["band"]["uncertain_band"], cal["video_band"])
    return meta
