"""Immutable box and face types shared by detection, features and results."""
from __future__ import annotations

from typing import NamedTuple, Tuple


class Box(NamedTuple):
    """An axis-aligned box in image pixels: top-left corner, width and height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def center(self) -> Tuple[float, float]:
        """The box centre as (x, y) floats."""
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)

    @property
    def area(self) -> int:
        return self.w * self.h

    def iou(self, other: "Box") -> float:
        """Intersection over union with another box (0 when they do not overlap)."""
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def in_resized_image(self, sx: float, sy: float) -> "Box":
        """The same region in a copy of the image resized ``sx`` x ``sy`` times (e.g. a box found on
        a low-res copy, in the full-resolution frame), floored so that it stays inside that copy."""
        return Box(int(self.x * sx), int(self.y * sy), int(self.w * sx), int(self.h * sy))


#: Where found eyes came from: the landmark model or the eye cascade.
FOUND_EYE_ORIGINS = ("landmarks", "cascade")
#: Where a face's eyes came from: found, or placed from the face box's geometry.
EYE_ORIGINS = (*FOUND_EYE_ORIGINS, "geometry")


class Face(NamedTuple):
    """A face box with its two eye boxes (image-left eye first) and where they came from."""

    box: Box
    eyes: Tuple[Box, Box]
    eyes_from: str  # one of EYE_ORIGINS

    @property
    def eyes_found(self) -> bool:
        """The eyes were found in the image (``FOUND_EYE_ORIGINS``), not placed from the face box."""
        return self.eyes_from in FOUND_EYE_ORIGINS
