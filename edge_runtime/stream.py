"""Video mode of the Detector: faces searched every Nth frame, their boxes re-used in between.

The face and eye search is most of the cost of a frame, and consecutive frames show a face
at nearly the same place: faces are searched on every ``detect_every``-th frame, and the
frames in between score the last search's face and eye boxes on their own pixels. A frame
of another size, and the frame after one that failed, are searched whatever their index.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, NamedTuple, Optional, Protocol, Sequence, Tuple

import cv2
import numpy as np

from .boxes import Face
from .errors import EyegradError
from .modes import RunningMode
from .results import DetectResult
from .tracking import Track, Tracker

#: What a frame that cannot be scored raises (a bad frame: the stream goes on with the next one).
FRAME_ERRORS = (EyegradError, cv2.error, ValueError)


class FaceScorer(Protocol):
    """What a stream needs of a Detector: its two steps (this module never imports the Detector,
    which makes streams)."""

    def find_faces(self, gray: np.ndarray, mode: RunningMode = RunningMode.IMAGE,
                   small: Optional[np.ndarray] = None) -> Tuple[List[Face], Dict[str, float]]: ...

    def score_faces(self, gray: np.ndarray, faces: Sequence[Face], path: Optional[str] = None,
                    timing_ms: Optional[Mapping[str, float]] = None) -> DetectResult: ...


class TrackedFrame(NamedTuple):
    """One frame through ``FrameStream.track_frame``: its result (an ``error`` one for a bad frame),
    the track of each face, and whether faces were searched on it."""

    result: DetectResult
    tracks: List[Track]
    searched: bool


class FrameStream:
    """The frames of one video through a Detector (``Detector.stream``), with the face boxes it keeps."""

    def __init__(self, detector: FaceScorer, detect_every: int = 1,
                 mode: RunningMode = RunningMode.LIVE_STREAM) -> None:
        self.detector = detector
        self.detect_every = detect_every
        self.mode = mode
        self.searches = 0  # face searches run so far
        self._faces: Optional[List[Face]] = None
        self._shape: Tuple[int, ...] = ()
        self._searched_at = 0

    def due(self, shape: Tuple[int, ...], index: int) -> bool:
        """Whether frame ``index``, of this shape, gets a face search."""
        return self._faces is None or shape != self._shape or index - self._searched_at >= self.detect_every

    def detect_frame(self, gray: np.ndarray, index: int, small: Optional[np.ndarray] = None,
                     path: Optional[str] = None, decode_ms: float = 0.0) -> Tuple[DetectResult, bool]:
        """Frame ``index``'s result, and whether faces were searched on it.

        ``small``: a low-res copy of the frame to search face boxes in (``Detector.find_faces``).
        A frame that raises leaves no boxes to re-use: the next frame is searched.
        """
        searched = self.due(gray.shape, index)
        try:
            if searched:
                faces, ms = self.detector.find_faces(gray, self.mode, small)
                self._faces, self._shape, self._searched_at = faces, gray.shape, index
                self.searches += 1
            else:
                faces, ms = self._faces, {}
            return self.detector.score_faces(gray, faces, path, {"decode": decode_ms, **ms}), searched
        except Exception:
            self._faces = None
            raise

    def track_frame(self, tracker: Tracker, gray: np.ndarray, index: int, small: Optional[np.ndarray] = None,
                    path: Optional[str] = None, decode_ms: float = 0.0) -> TrackedFrame:
        """The one frame step of the camera loop and of video files: frame ``index`` through
        ``detect_frame``, its faces added to ``tracker``. A bad frame (``FRAME_ERRORS``) gives an
        ``error`` result (``frame <index>: <why>``) with no tracks and leaves the tracker as it was."""
        try:
            result, searched = self.detect_frame(gray, index, small, path, decode_ms)
        except FRAME_ERRORS as exc:
            return TrackedFrame(DetectResult.failed(path, f"frame {index}: {exc}", {"decode": decode_ms}), [], False)
        tracks = tracker.update([f.face.box for f in result.faces], [f.p_fake for f in result.faces])
        return TrackedFrame(result, tracks, searched)
