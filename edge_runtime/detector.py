"""The Detector: decode -> faces and eyes -> eye features -> model -> verdict."""
from __future__ import annotations

import os
import time
from typing import Dict, Optional, Sequence, Union

import numpy as np

from .boxes import Face
from .decode import ImageSource, decode_image
from .errors import InputError
from .faces import FaceFinder
from .model import EyeModel
from .results import DetectResult, FaceResult, image_verdict


class Detector:
    """Tells real faces from deepfakes by their eyes, with one .tflite model.

    >>> Detector().detect("examples/real_mesonet_00240.jpg").verdict   # doctest: +SKIP
    'real'
    """

    def __init__(self, model_path: Union[str, os.PathLike, None] = None, num_threads: Optional[int] = None,
                 finder: Optional[FaceFinder] = None) -> None:
        self.model = EyeModel(model_path, num_threads=num_threads)
        self.finder = finder or FaceFinder()

    def detect_gray(self, gray: np.ndarray, path: Optional[str] = None, decode_ms: float = 0.0) -> DetectResult:
        """Detect on an already decoded 8-bit grayscale image."""
        t0 = time.perf_counter()
        faces = self.finder.find(gray)
        return self.score_faces(gray, faces, path, {"decode": decode_ms, "detect": (time.perf_counter() - t0) * 1e3})

    def score_faces(self, gray: np.ndarray, faces: Sequence[Face], path: Optional[str] = None,
                    timing_ms: Optional[Dict[str, float]] = None) -> DetectResult:
        """Score faces already found in ``gray`` (camera frames reuse faces between detections).

        ``timing_ms`` holds the stages done before (decode, detect); features, infer and total are added.
        """
        timing = dict(timing_ms or {})
        t1 = time.perf_counter()
        views = [self.model.face_views(gray, f) for f in faces]
        t2 = time.perf_counter()
        scored = tuple(FaceResult(f, self.model.score_views(v)) for f, v in zip(faces, views))
        t3 = time.perf_counter()
        verdict, p = image_verdict(scored, self.model.uncertain_band)
        timing.update(features=(t2 - t1) * 1e3, infer=(t3 - t2) * 1e3)
        timing["total"] = sum(timing.values())
        return DetectResult(path, verdict, p, scored, timing)

    def detect(self, source: ImageSource, path: Optional[str] = None) -> DetectResult:
        """Detect on a path, encoded bytes or numpy array; bad input gives an ``error`` result."""
        if path is None and isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
        t0 = time.perf_counter()
        try:
            gray = decode_image(source)
        except InputError as exc:
            return DetectResult.failed(path, str(exc), {"decode": (time.perf_counter() - t0) * 1e3})
        return self.detect_gray(gray, path, (time.perf_counter() - t0) * 1e3)
