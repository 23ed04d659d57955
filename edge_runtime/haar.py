"""OpenCV's bundled Haar cascades, and the resized copy of an image they search."""
from __future__ import annotations

from typing import Tuple

import cv2
import numpy as np

from .errors import ModelError


def cascade(name: str) -> cv2.CascadeClassifier:
    """Load one of OpenCV's bundled Haar cascades.

    Each call loads a new classifier (~10 ms): OpenCV objects must not be shared
    between threads, so every FaceFinder and EyePlacer (one per server worker) owns its own.
    """
    path = cv2.data.haarcascades + name
    clf = cv2.CascadeClassifier(path)
    if clf.empty():
        raise ModelError(f"OpenCV Haar cascade not found: {path} (use opencv-python-headless<5)")
    return clf


def resize_to_side(gray: np.ndarray, side: int) -> Tuple[np.ndarray, float]:
    """``gray`` resized so that its longer side is ``side`` pixels, and the factor it was resized by."""
    h, w = gray.shape[:2]
    s = side / float(max(h, w))
    if abs(s - 1.0) < 1e-3:
        return gray, 1.0
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp), s
