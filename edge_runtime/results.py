"""Immutable result types of a detection, and the verdict rule."""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Dict, NamedTuple, Optional, Sequence, Tuple

from .boxes import Box, Face

if TYPE_CHECKING:  # video results are built by video_verdict, which imports this module
    from .video_verdict import VideoSummary


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


class DetectResult(NamedTuple):
    """The result for one image or video file, as in the detect contract of docs/api.md (fields:
    ``schema.py``); a video's adds the fields of its ``VideoSummary``."""

    path: Optional[str]
    verdict: Verdict
    p_fake: Optional[float]
    faces: Tuple[FaceResult, ...]
    timing_ms: Dict[str, float]
    error: Optional[str] = None
    video: Optional["VideoSummary"] = None  # a video file's frames, tracks and timeline

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
           "image_verdict"]
