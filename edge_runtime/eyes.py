"""Place the two eyes of a face box.

The eyes of a face are placed by the bundled landmark model (``landmarks.py``,
``eyes_from="landmarks"``); where it finds no face, the eye cascade searches the upper part of
the face box (``"cascade"``), and when that gives no plausible pair the eyes are placed from the
face box's geometry (``"geometry"``).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .boxes import Box, Face
from .haar import cascade, resize_to_side
from .landmarks import EyeLandmarks

#: Eye centres relative to a frontalface_default box (x, y as fractions of w, h) and
#: eye box size relative to face width, measured on cascade-found eyes in ../shared/data.
GEOMETRY_LEFT_EYE = (0.30, 0.38)
GEOMETRY_RIGHT_EYE = (0.685, 0.38)
GEOMETRY_EYE_SIZE = 0.25
#: Landmark eyes count only this far apart (fractions of the face width) and inside the face box.
LANDMARK_EYE_DISTANCE = (0.15, 0.75)
#: Side of a landmark eye's box as a fraction of the eye distance (cascade eye boxes: median 0.24
#: face widths at 0.37 face widths apart).
LANDMARK_EYE_SIZE = 0.65
#: The eye cascade searches this band of the face box's height (fractions from its top): narrower
#: than 0.12-0.62, it costs a fifth less CPU per face and finds as many cascade eye pairs
#: (docs/benchmarks.md).
EYE_SEARCH_ROWS = (0.18, 0.58)
#: A whole image taken as the face is no cascade box: its eyes may sit anywhere in these rows.
WHOLE_IMAGE_EYE_ROWS = (0.12, 0.62)
#: Scale step of the eye search in a face box: coarser than 1.1 costs a fifth less CPU time with
#: validation scores unchanged (docs/benchmarks.md).
EYE_SCALE_FACTOR = 1.15
#: The eye search over a whole image taken as the face (rarely run, so the finer step costs
#: little): at 1.15, 25 of 3,728 validation images lost their only face.
WHOLE_IMAGE_EYE_SCALE_FACTOR = 1.1


class EyePlacer:
    """Eyes from the landmark model, else the eye cascade, else the face geometry.

    ``landmarks=False`` leaves the landmark model out (the eye cascade places every eye pair).
    Like ``EyeLandmarks``, an instance must not be shared between threads.
    """

    def __init__(self, landmarks: bool = True) -> None:
        self.eye_cascade = cascade("haarcascade_eye.xml")
        self.landmarks = EyeLandmarks() if landmarks else None

    def landmark_eyes(self, gray: np.ndarray, face: Box) -> Optional[Tuple[Box, Box]]:
        """Eye boxes centred on the landmark model's eye centres, or None (no model, it finds no
        face around ``face``, or its eyes do not fit the box: ``LANDMARK_EYE_DISTANCE``)."""
        centres = self.landmarks.eye_centres(gray, face) if self.landmarks else None
        if centres is None or not all(face.x <= x < face.x + face.w and face.y <= y < face.y + face.h
                                      for x, y in centres):
            return None
        distance = float(np.hypot(centres[1][0] - centres[0][0], centres[1][1] - centres[0][1]))
        if not LANDMARK_EYE_DISTANCE[0] <= distance / face.w <= LANDMARK_EYE_DISTANCE[1]:
            return None
        return eye_boxes(LANDMARK_EYE_SIZE * distance, *centres)

    def candidates(self, gray: np.ndarray, face: Box, rows: Tuple[float, float] = EYE_SEARCH_ROWS,
                   scale_factor: float = EYE_SCALE_FACTOR) -> List[Box]:
        """Every eye-cascade hit in ``rows`` (fractions of the face's height), in image pixels."""
        top = face.y + int(rows[0] * face.h)
        roi = gray[top: face.y + int(rows[1] * face.h), face.x: face.x + face.w]
        if roi.size == 0 or min(roi.shape[:2]) < 8:
            return []
        small, s = resize_to_side(roi, 160)
        small = cv2.equalizeHist(small)
        found = self.eye_cascade.detectMultiScale(
            small, scaleFactor=scale_factor, minNeighbors=3, minSize=(12, 12),
            maxSize=(int(0.5 * small.shape[1]), int(0.5 * small.shape[1])))
        return [Box(int(round(face.x + x / s)), int(round(top + y / s)), int(round(w / s)), int(round(h / s)))
                for x, y, w, h in np.asarray(found).reshape(-1, 4)]

    def place(self, gray: np.ndarray, box: Box, cands: Optional[List[Box]] = None) -> Face:
        """A face with its landmark eyes, else its cascade eye pair, else geometric eyes.

        ``cands`` are the eye-cascade hits in the face when the caller already has them.
        """
        landmarks = self.landmark_eyes(gray, box)
        if landmarks:
            return Face(box, landmarks, "landmarks")
        if cands is None:
            cands = self.candidates(gray, box)
        eyes = pick_eye_pair(cands, box)
        return Face(box, eyes, "cascade") if eyes else Face(box, geometry_eyes(box), "geometry")


def geometry_eyes(face: Box) -> Tuple[Box, Box]:
    """Eye boxes placed from the face box alone."""
    return eye_boxes(GEOMETRY_EYE_SIZE * face.w, *((face.x + fx * face.w, face.y + fy * face.h)
                                                   for fx, fy in (GEOMETRY_LEFT_EYE, GEOMETRY_RIGHT_EYE)))


def tilted_geometry_eyes(face: Box, angle: float) -> Tuple[Box, Box]:
    """``geometry_eyes`` of a face turned by ``angle`` degrees (counter-clockwise) about its
    centre: where the eyes sit on a head that is upright once the image is turned so."""
    eyes = geometry_eyes(face)
    if angle == 0:
        return eyes
    back = cv2.invertAffineTransform(cv2.getRotationMatrix2D(face.center, angle, 1.0))
    out = []
    for eye in eyes:
        x, y = back @ np.array([eye.center[0], eye.center[1], 1.0])
        out.append(Box(int(round(x - eye.w / 2.0)), int(round(y - eye.h / 2.0)), eye.w, eye.h))
    return out[0], out[1]


def eye_boxes(size: float, left: Tuple[float, float], right: Tuple[float, float]) -> Tuple[Box, Box]:
    """Square eye boxes of side ``size`` pixels centred on two eye centres."""
    return tuple(Box(int(round(cx - size / 2)), int(round(cy - size / 2)), int(round(size)), int(round(size)))
                 for cx, cy in (left, right))


def pick_eye_pair(cands: Sequence[Box], face: Box) -> Optional[Tuple[Box, Box]]:
    """Choose the eye pair that best fits a face: one eye per half, level, similar size."""
    best, best_cost = None, float("inf")
    mid = face.x + face.w / 2.0
    for i, a in enumerate(cands):
        for b in cands[i + 1:]:
            left, right = (a, b) if a.center[0] < b.center[0] else (b, a)
            if not (left.center[0] < mid < right.center[0]):
                continue
            dx = (right.center[0] - left.center[0]) / face.w
            dy = abs(right.center[1] - left.center[1]) / face.w
            size_ratio = max(left.w, right.w) / max(1, min(left.w, right.w))
            if not (0.25 <= dx <= 0.65) or dy > 0.12 or size_ratio > 1.6:
                continue
            cost = abs(dx - 0.37) + 2 * dy + 0.3 * (size_ratio - 1)
            if cost < best_cost:
                best, best_cost = (left, right), cost
    return best
