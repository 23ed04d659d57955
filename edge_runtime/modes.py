"""What the caller hands the Detector: one image, a video file's frames, or a live stream.

Named once, like MediaPipe Tasks' ``RunningMode`` (IMAGE / VIDEO / LIVE_STREAM). The mode decides
whether a picture with no face box may still be one tight face crop (the relaxed whole-image
search): an image or a video file may be (datasets are full of crops), a camera scene never is.
"""
from __future__ import annotations

from enum import Enum


class RunningMode(str, Enum):
    """The kind of input; each value is the string a log or a config may hold."""

    IMAGE = "image"
    VIDEO = "video"
    LIVE_STREAM = "live_stream"

    def __str__(self) -> str:
        return self.value

    @property
    def may_be_a_face_crop(self) -> bool:
        """With no face box, a picture may still be one tight face crop (not so a live scene)."""
        return self is not RunningMode.LIVE_STREAM
