"""Eye centres of a found face from a face landmark model (MediaPipe BlazeFace, short range).

The model (``models/blazeface_short_range.tflite``, Apache-2.0, bundled: nothing is
downloaded) takes a 128 x 128 RGB image and gives, for each of 896 fixed anchors, a face
score and a box with six keypoints, the first two being the eyes. It runs here on a square
crop around a face box the face cascade found: one invoke places both eye centres, where the
eye cascade costs several times as long and finds a plausible pair in only about two faces of
three (docs/benchmarks.md).
"""
from __future__ import annotations

import importlib.resources
import math
from pathlib import Path
from typing import Optional, Tuple

import cv2
import numpy as np

from .boxes import Box
from .errors import ModelError
from .interpreter import TfliteModel

#: The bundled landmark model (package data of ``eyegrad.models``).
LANDMARK_MODEL = Path(str(importlib.resources.files("eyegrad.models").joinpath("blazeface_short_range.tflite")))
#: Side of the model's square input, in pixels.
INPUT_SIDE = 128
#: The crop handed to the model: a square this many face-box widths wide around the box centre
#: (the model was trained on faces with margin; 1.4-2.2 place the eyes alike, docs/benchmarks.md).
CROP_SCALE = 1.8
#: Face boxes smaller than this (pixels, either side) get no landmark eyes.
MIN_FACE_SIDE = 8
#: A face counts as found by the model at this score (sigmoid of its logit), as in MediaPipe.
MIN_SCORE = 0.5
#: Detections that overlap the best one by this IoU are averaged with it, weighted by score
#: (MediaPipe's weighted non-maximum suppression).
MERGE_IOU = 0.3

Point = Tuple[float, float]


def anchor_centres() -> np.ndarray:
    """The 896 anchor centres (x, y in 0..1) of the short-range model: 2 anchors per cell of a
    16 x 16 grid (stride 8), then 6 per cell of an 8 x 8 grid (stride 16)."""
    out = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = INPUT_SIDE // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        centres = np.stack([(xs.ravel() + 0.5) / cells, (ys.ravel() + 0.5) / cells], axis=1)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


def square_crop(gray: np.ndarray, centre: Point, side: float) -> Optional[np.ndarray]:
    """The ``side`` x ``side`` square of ``gray`` around ``centre``, resized to INPUT_SIDE pixels
    (halved by a Gaussian pyramid first when shrinking, the border replicated where the square
    leaves the image), or None when the square misses the image."""
    h, w = gray.shape[:2]
    x0, y0 = centre[0] - side / 2.0, centre[1] - side / 2.0
    ix0, iy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    ix1, iy1 = min(w, math.ceil(x0 + side)), min(h, math.ceil(y0 + side))
    if ix1 <= ix0 or iy1 <= iy0:
        return None
    roi = gray[iy0:iy1, ix0:ix1]
    scale = INPUT_SIDE / side
    while scale * (ix1 - ix0) / roi.shape[1] < 0.5 and min(roi.shape[:2]) > 1:  # halve first, or the warp aliases
        roi = cv2.pyrDown(roi)
    sx, sy = scale * (ix1 - ix0) / roi.shape[1], scale * (iy1 - iy0) / roi.shape[0]
    m = np.array([[sx, 0.0, (ix0 - x0) * scale], [0.0, sy, (iy0 - y0) * scale]])
    return cv2.warpAffine(roi, m, (INPUT_SIDE, INPUT_SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _iou(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    """IoU of each (cx, cy, w, h) row of ``boxes`` with ``box``."""
    ix = np.clip(np.minimum(boxes[:, 0] + boxes[:, 2] / 2, box[0] + box[2] / 2)
                 - np.maximum(boxes[:, 0] - boxes[:, 2] / 2, box[0] - box[2] / 2), 0, None)
    iy = np.clip(np.minimum(boxes[:, 1] + boxes[:, 3] / 2, box[1] + box[3] / 2)
                 - np.maximum(boxes[:, 1] - boxes[:, 3] / 2, box[1] - box[3] / 2), 0, None)
    inter = ix * iy
    return inter / np.maximum(boxes[:, 2] * boxes[:, 3] + box[2] * box[3] - inter, 1e-9)


class EyeLandmarks:
    """Both eye centres of a face box in one invoke of the bundled landmark model.

    Like ``FaceFinder``, an instance must not be shared between threads.
    """

    def __init__(self, model_path: Path = LANDMARK_MODEL) -> None:
        self.model = TfliteModel(model_path, num_threads=1)
        self.anchors = anchor_centres()
        missing = {"regressors", "classificators"} - set(self.model.output_indices)
        if missing:
            raise ModelError(f"{model_path}: no output {', '.join(sorted(missing))}: not the BlazeFace landmark model")

    def eye_centres(self, gray: np.ndarray, face: Box) -> Optional[Tuple[Point, Point]]:
        """The centres of the two eyes (image-left first) of the face in ``face``, in image pixels,
        or None when the model finds no face in the crop around it (or the box is under
        ``MIN_FACE_SIDE`` pixels or outside the image)."""
        if min(face.w, face.h) < MIN_FACE_SIDE:
            return None
        side = CROP_SCALE * max(face.w, face.h)
        crop = square_crop(gray, face.center, side)
        if crop is None:
            return None
        rgb = np.repeat((crop.astype(np.float32) * (2.0 / 255.0) - 1.0)[:, :, None], 3, axis=2)
        self.model.set_input(rgb)
        self.model.invoke()
        reg = self.model.raw_output_named("regressors")[0]
        logits = self.model.raw_output_named("classificators")[0, :, 0]
        best = int(np.argmax(logits))
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100.0, 100.0)))
        if scores[best] < MIN_SCORE:
            return None
        boxes = reg[:, :4] / INPUT_SIDE
        boxes[:, :2] += self.anchors
        merged = (scores >= MIN_SCORE) & (_iou(boxes, boxes[best]) >= MERGE_IOU)
        eyes = reg[merged, 4:8].reshape(-1, 2, 2) / INPUT_SIDE + self.anchors[merged, None, :]
        weights = scores[merged]
        mean = np.tensordot(weights, eyes, axes=1) / weights.sum()  # 2 x 2, in crop units
        x0, y0 = face.center[0] - side / 2.0, face.center[1] - side / 2.0
        (ax, ay), (bx, by) = (mean * side + (x0, y0)).tolist()
        return ((ax, ay), (bx, by)) if ax <= bx else ((bx, by), (ax, ay))
