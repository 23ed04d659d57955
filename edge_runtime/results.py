"""Immutable result types of a detection, and the verdict rule."""
from __future__ import annotations

from typing import Dict, NamedTuple, Optional, Sequence, Tuple

from .boxes import Box, Face

VERDICTS = ("real", "fake", "uncertain", "no_face", "error")


def verdict_for(p_fake: float, uncertain_band: Tuple[float, float]) -> str:
    """``real`` below the uncertain band, ``fake`` above it, ``uncertain`` inside it."""
    lo, hi = uncertain_band
    if p_fake < lo:
        return "real"
    if p_fake > hi:
        return "fake"
    return "uncertain"


class FaceResult(NamedTuple):
    """One face: its box, its eye boxes, where the eyes came from and its p_fake."""

    face: Face
    p_fake: float

    def to_dict(self) -> dict:
        return {"box": list(self.face.box), "eyes": [list(e) for e in self.face.eyes],
                "eyes_from": self.face.eyes_from, "p_fake": round(self.p_fake, 6)}


class DetectResult(NamedTuple):
    """The result for one image, as in DESIGN.md's detect contract."""

    path: Optional[str]
    verdict: str
    p_fake: Optional[float]
    faces: Tuple[FaceResult, ...]
    timing_ms: Dict[str, float]
    error: Optional[str] = None

    def to_dict(self) -> dict:
        return {"path": self.path, "verdict": self.verdict,
                "p_fake": None if self.p_fake is None else round(self.p_fake, 6),
                "faces": [f.to_dict() for f in self.faces],
                "timing_ms": {k: round(v, 3) for k, v in self.timing_ms.items()},
                "error": self.error}

    @classmethod
    def failed(cls, path: Optional[str], error: str, timing_ms: Optional[Dict[str, float]] = None) -> "DetectResult":
        """An ``error`` result with a one-line message."""
        line = " ".join(str(error).split()) or "unknown error"
        return cls(path, "error", None, (), dict(timing_ms or {}), line)


def image_verdict(faces: Sequence[FaceResult], uncertain_band: Tuple[float, float]) -> Tuple[str, Optional[float]]:
    """The image's verdict and p_fake: the highest face's, or ``no_face``."""
    if not faces:
        return "no_face", None
    p = max(f.p_fake for f in faces)
    return verdict_for(p, uncertain_band), p


__all__ = ["Box", "Face", "FaceResult", "DetectResult", "VERDICTS", "verdict_for", "image_verdict"]
