"""The Detector: the one place that runs decode -> faces -> eyes -> eye features -> model -> verdict.

Every stage is timed; a result's ``timing_ms`` holds each of ``timing.STAGES`` plus ``detect``
(faces + eyes) and ``total`` (their sum). Benchmarks read these times instead of re-running
the steps, and the camera loop runs frames through ``Detector.stream``.
"""
from __future__ import annotations

import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .boxes import Face
from .datasets import is_video
from .decode import ImageSource, decode_image
from .errors import InputError
from .faces import FaceFinder
from .model import EyeModel
from .modes import RunningMode
from .results import DetectResult, FaceResult, image_verdict
from .stream import FrameStream
from .timing import Stopwatch, stage_timing
from .video import VideoOptions
from .video_verdict import ProgressCallback, detect_video

class Detector:
    """Tells real faces from deepfakes by their eyes, with one .tflite model.

    >>> Detector().detect("examples/real_mesonet_00240.jpg").verdict   # doctest: +SKIP
    'real'

    Raises: making one raises ``ModelError`` when the model (``EyeModel``), the eye landmark
    model or OpenCV's face cascades cannot be used. ``detect`` and ``detect_video`` never raise
    for bad input: an unusable image or video gives an ``error`` result with a one-line message.
    The steps below them (``detect_gray``, ``find_faces``, ``score_faces``, ``stream``) take
    decoded pixels and may raise ``EyegradError``, ``cv2.error`` or ``ValueError`` on a frame
    they cannot use; the video scoring and the camera loop catch these per frame.
    """

    def __init__(self, model_path: Union[str, os.PathLike, None] = None, num_threads: Optional[int] = None,
                 finder: Optional[FaceFinder] = None, video: VideoOptions = VideoOptions()) -> None:
        self.model = EyeModel(model_path, num_threads=num_threads)
        self.finder = finder or FaceFinder()
        self.video = video

    def detect(self, source: ImageSource, path: Optional[str] = None) -> DetectResult:
        """Detect on a path (an image, or a video file: ``detect_video``), encoded image bytes or a
        numpy array; bad input gives an ``error`` result."""
        if isinstance(source, (str, os.PathLike)):
            if is_video(source):
                return self.detect_video(source, name=path)
            path = os.fspath(source) if path is None else path
        watch = Stopwatch()
        try:
            gray = decode_image(source)
        except InputError as exc:
            return DetectResult.failed(path, str(exc), {"decode": watch.lap("decode")})
        return self.detect_gray(gray, path, watch.lap("decode"))

    def detect_gray(self, gray: np.ndarray, path: Optional[str] = None, decode_ms: float = 0.0,
                    mode: RunningMode = RunningMode.IMAGE) -> DetectResult:
        """Detect on an already decoded 8-bit grayscale image (``mode``: see ``find_faces``)."""
        faces, ms = self.find_faces(gray, mode)
        return self.score_faces(gray, faces, path, {"decode": decode_ms, **ms})

    def find_faces(self, gray: np.ndarray, mode: RunningMode = RunningMode.IMAGE,
                   small: Optional[np.ndarray] = None) -> Tuple[List[Face], Dict[str, float]]:
        """Faces with their eyes, largest first, and the ms of the ``faces`` and ``eyes`` stages.

        ``mode``: with no face box, an image or a video frame may still be one tight face crop; a
        ``LIVE_STREAM`` scene never is (``RunningMode.may_be_a_face_crop``). ``small``: a low-res copy of ``gray`` to search the face boxes in (a
        camera's preview stream); eyes are always searched in ``gray``.
        """
        watch = Stopwatch()
        if small is None:
            boxes = self.finder.find_face_boxes(gray)
        else:
            sx, sy = gray.shape[1] / small.shape[1], gray.shape[0] / small.shape[0]
            boxes = [b.in_resized_image(sx, sy) for b in self.finder.find_face_boxes(small)]
        watch.lap("faces")
        faces = self.finder.faces_from_boxes(gray, boxes, mode)
        watch.lap("eyes")
        return faces, watch.ms

    def score_faces(self, gray: np.ndarray, faces: Sequence[Face], path: Optional[str] = None,
                    timing_ms: Optional[Mapping[str, float]] = None) -> DetectResult:
        """The result for faces already found in ``gray`` (e.g. by ``find_faces``, once for several models).

        ``timing_ms`` holds the stages run before (decode, faces, eyes); features and infer are added.
        """
        watch = Stopwatch()
        views = [self.model.face_views(gray, f) for f in faces]
        watch.lap("features")
        scored = tuple(FaceResult(f, self.model.score_views(v)) for f, v in zip(faces, views))
        verdict, p = image_verdict(scored, self.model.uncertain_band)
        watch.lap("infer")
        return DetectResult(path, verdict, p, scored, stage_timing({**(timing_ms or {}), **watch.ms}))

    def detect_video(self, path: Union[str, os.PathLike], progress: Optional[ProgressCallback] = None,
                     name: Optional[str] = None) -> DetectResult:
        """One result for a video file, sampled by ``self.video`` (see ``video_verdict``); ``name``
        is the path to report (default ``path``). Never raises for bad input: an ``error`` result."""
        return detect_video(self.stream(detect_every=1, mode=RunningMode.VIDEO), path, self.model.video_band,
                            self.video, progress, name)

    def stream(self, detect_every: int = 1, mode: RunningMode = RunningMode.LIVE_STREAM) -> FrameStream:
        """Frames of one stream (``mode``: a live one by default, or a video file's): faces searched
        on every ``detect_every``-th frame and re-used in between."""
        return FrameStream(self, detect_every, mode)
