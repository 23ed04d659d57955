"""Immutable result types of a detection (an image's, a video file's), and the verdict rule.

This module imports no scorer: the Detector, the video scoring and the camera loop build these
results, and everything that reads them (commands, web, scan, schema) imports only this.
"""
from __future__ import annotations

from enum import Enum
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

from .boxes import Box, Face


class Verdict(str, Enum):
    """An image's (or a face's) verdict; each value is the string the JSON contracts hold.

    A ``str`` subclass, so a member equals its string (``Verdict.REAL == "real"``) and hashes
    like it; ``str()`` and f-strings give the value too.
    """

    REAL = "real"
    FAKE = "fake"
    UNCERTAIN = "uncertain"
    NO_FACE = "no_face"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


#: The verdict strings, in the order of ``Verdict``.
VERDICTS = tuple(v.value for v in Verdict)
#: The ``timing_ms`` keys of the JSON contract (docs/api.md); a result may hold finer stages in
#: memory (the Detector's ``faces`` and ``eyes``, which add up to ``detect``) for benchmarks.
TIMING_KEYS = ("decode", "detect", "features", "infer", "total")


def verdict_for(p_fake: float, uncertain_band: Tuple[float, float]) -> Verdict:
    """``real`` below the uncertain band, ``fake`` above it, ``uncertain`` inside it (edges included)."""
    lo, hi = uncertain_band
    if p_fake < lo:
        return Verdict.REAL
    if p_fake > hi:
        return Verdict.FAKE
    return Verdict.UNCERTAIN


class FaceResult(NamedTuple):
    """One face: its box, its eye boxes, where the eyes came from and its p_fake."""

    face: Face
    p_fake: float

    def to_dict(self) -> dict:
        return {"box": list(self.face.box), "eyes": [list(e) for e in self.face.eyes],
                "eyes_from": self.face.eyes_from, "p_fake": round(self.p_fake, 6)}


class TrackScore(NamedTuple):
    """One face of one sampled frame: its track, its p_fake and its box."""

    track: int
    p_fake: float
    box: Box

    def to_dict(self) -> dict:
        return {"track": self.track, "p_fake": round(self.p_fake, 6), "box": list(self.box)}


class TimelinePoint(NamedTuple):
    """One sampled frame: its index, its time in seconds, its faces, or why it could not be scored."""

    frame: int
    time_s: float
    faces: Tuple[TrackScore, ...]
    error: Optional[str] = None

    def to_dict(self) -> dict:
        return {"frame": self.frame, "t": round(self.time_s, 3), "faces": [f.to_dict() for f in self.faces],
                "error": self.error}


class TrackSummary(NamedTuple):
    """A face followed through the video: its id, frames seen, combined p_fake and whether it is steady."""

    id: int
    frames: int
    p_fake: float
    steady: bool

    def to_dict(self) -> dict:
        return {"id": self.id, "frames": self.frames, "p_fake": round(self.p_fake, 6), "steady": self.steady}


class VideoSummary(NamedTuple):
    """What a video result adds to the image contract (docs/api.md, video results)."""

    duration_s: float
    aggregation: str
    tracks: Tuple[TrackSummary, ...]
    timeline: Tuple[TimelinePoint, ...]

    @property
    def frames(self) -> int:
        """Sampled frames that decoded and were scored."""
        return sum(1 for point in self.timeline if point.error is None)

    @property
    def deciding_tracks(self) -> Tuple[TrackSummary, ...]:
        """The steady tracks, most fake first: the first decides the video's verdict."""
        return tuple(sorted((t for t in self.tracks if t.steady), key=lambda t: -t.p_fake))

    def to_dict(self) -> dict:
        return {"frames": self.frames, "duration_s": round(self.duration_s, 3), "aggregation": self.aggregation,
                "tracks": [t.to_dict() for t in self.tracks], "timeline": [p.to_dict() for p in self.timeline]}


class DetectResult(NamedTuple):
    """The result for one image or video file, as in the detect contract of docs/api.md (fields:
    ``schema.py``); a video's adds the fields of its ``VideoSummary``."""

    path: Optional[str]
    verdict: Verdict
    p_fake: Optional[float]
    faces: Tuple[FaceResult, ...]
    timing_ms: Dict[str, float]
    error: Optional[str] = None
    video: Optional[VideoSummary] = None  # a video file's frames, tracks and timeline

    def to_dict(self) -> dict:
        out = {"path": self.path, "verdict": Verdict(self.verdict).value,
               "p_fake": None if self.p_fake is None else round(self.p_fake, 6),
               "faces": [f.to_dict() for f in self.faces],
               "timing_ms": {k: round(v, 3) for k, v in self.timing_ms.items() if k in TIMING_KEYS},
               "error": self.error}
        if self.video is not None:
            out.update(self.video.to_dict())
        return out

    @classmethod
    def failed(cls, path: Optional[str], error: str, timing_ms: Optional[Dict[str, float]] = None) -> "DetectResult":
        """An ``error`` result with a one-line message."""
        line = " ".join(str(error).split()) or "unknown error"
        return cls(path, Verdict.ERROR, None, (), dict(timing_ms or {}), line)


def image_verdict(faces: Sequence[FaceResult], uncertain_band: Tuple[float, float]
                  ) -> Tuple[Verdict, Optional[float]]:
    """The image's verdict and p_fake: the highest face's, or ``no_face``."""
    if not faces:
        return Verdict.NO_FACE, None
    p = max(f.p_fake for f in faces)
    return verdict_for(p, uncertain_band), p


__all__ = ["Box", "Face", "FaceResult", "DetectResult", "Verdict", "VERDICTS", "TIMING_KEYS", "verdict_for",
           "image_verdict", "TrackScore", "TimelinePoint", "TrackSummary", "VideoSummary"]
