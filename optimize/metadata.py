"""The metadata embedded in every exported .tflite (``eyegrad.runtime.metadata.ModelMetadata``)."""
from __future__ import annotations

import time
from typing import Dict, Optional, Sequence

from eyegrad.runtime.features import CHANNELS, FEATURE_CLIP, FEATURE_SCALE, FEATURE_VERSION, SUPERSAMPLE, BandGeometry
from eyegrad.runtime.metadata import METADATA_NAME, ModelMetadata

#: The views a face's p_fake is the mean of by default: the band and its mirror image ...
VIEWS = ("band", "mirrored")
#: ... each cut at these eye spacings (``BandGeometry.zoomed``); the first is the band explanations
#: and golden files show. With eyes from the landmark model, zooms 0.9 and 1.1 as well add 0.2 AUC
#: points on validation, within noise, for three times the features and invokes (research/views.md).
ZOOMS = (1.0,)
#: The model's classes by label: p_fake is the probability of label 1.
LABELS = ("real", "fake")


def model_metadata(geometry: BandGeometry, threshold: float, band: Dict, variant: str,
                   metrics: Dict, run: Dict, teacher: Optional[Dict] = None, sparsity: float = 0.0,
                   input_quantization: Optional[Dict] = None, optimize_command: Optional[str] = None,
                   video_band: Optional[Sequence[float]] = None, views: Sequence[str] = VIEWS) -> ModelMetadata:
    """Everything a runtime or an app needs to use the model, and how it was made."""
    return ModelMetadata(
        name=METADATA_NAME,
        variant=variant,
        feature_version=FEATURE_VERSION,
        channels=CHANNELS,
        feature_scale=FEATURE_SCALE,
        feature_clip=FEATURE_CLIP,
        geometry=geometry,
        supersample=SUPERSAMPLE,
        views=tuple(views),
        zooms=ZOOMS,
        crop={"warp": "affine: eye centres -> geometry.eye_points() of the band with supersample times "
                      "the pixels, bilinear, border reflect-101; once per zoom, with geometry.eye_spacing "
                      "times the zoom",
              "pre_shrink": "INTER_AREA to 2x the band scale when the scale is below 0.5",
              "gradients": "Sobel 3x3 (CV_32F) on gray/255 of the supersampled band: gx, gy, magnitude; times "
                           "feature_scale * supersample, averaged over supersample x supersample blocks, "
                           "clipped to +-feature_clip; channels last in that order"},
        input=input_quantization or {},
        labels=LABELS,
        output="p_fake (sigmoid)",
        threshold=threshold,
        uncertain_band=band["uncertain_band"],
        video_band=video_band,
        calibration={k: v for k, v in band.items() if k != "uncertain_band"},
        metrics=metrics,
        training={"data": run.get("data"), "command": run.get("command"), "split": run.get("split"),
                  "date": run.get("date")},
        teacher=teacher,
        optimize_command=optimize_command,
        sparsity=sparsity,
        created=time.strftime("%Y-%m-%d"),
    )
