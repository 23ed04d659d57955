"""Find faces and their eyes with OpenCV Haar cascades.

Faces are searched first on a small copy of the image (``quick_side`` pixels, coarse
scale steps), which finds a face filling a quarter or more of the image in a few
milliseconds; only when that finds none is the image searched again at
``detect_side`` pixels, for smaller faces. Tight face crops, where the face touches
the border and the cascade misses it, are retried on a padded copy. The eyes of each
face are placed by the bundled landmark model (``landmarks.py``, ``eyes_from="landmarks"``);
where it finds no face, the eye cascade searches the upper part of the face box, and when
that gives no plausible pair the eyes are placed from the face geometry
(``eyes_from="geometry"``).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .boxes import Box, Face
from .errors import ModelError
from .landmarks import EyeLandmarks
from .modes import RunningMode

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
#: Cascades of the relaxed face search that lets a tight crop with no eye hit count as a face
#: (profile faces, closed eyes, tilted heads): (file, minNeighbors, also mirrored).
RELAXED_FACE_CASCADES = (("haarcascade_frontalface_default.xml", 2, False),
                         ("haarcascade_frontalface_alt2.xml", 1, False),
                         ("haarcascade_frontalface_alt.xml", 1, False),
                         ("haarcascade_profileface.xml", 1, True))
#: The relaxed search wants a face at least this share of the padded image's longer side.
RELAXED_MIN_FACE_FRACTION = 0.3
#: The relaxed search also tries the image turned by these angles (degrees, counter-clockwise),
#: for tilted heads; the first angle at which a face fires tilts the geometric eyes.
RELAXED_ROTATIONS = (0.0, 30.0, -30.0)
#: A turned copy needs this many more neighbours than ``RELAXED_FACE_CASCADES`` asks: at the
#: same setting the turns raised the share of face-free patches taken for a face from 2.2% to 5.3%.
RELAXED_TURNED_EXTRA_NEIGHBOURS = 2


def cascade(name: str) -> cv2.CascadeClassifier:
    """Load one of OpenCV's bundled Haar cascades.

    Each call loads a new classifier (~10 ms): OpenCV objects must not be shared
    between threads, so every FaceFinder (one per server worker) owns its own.
    """
    path = cv2.data.haarcascades + name
    clf = cv2.CascadeClassifier(path)
    if clf.empty():
        raise ModelError(f"OpenCV Haar cascade not found: {path} (use opencv-python-headless<5)")
    return clf


def _scaled(gray: np.ndarray, side: int) -> Tuple[np.ndarray, float]:
    """Resize so the longer side is ``side`` pixels; returns the image and its scale."""
    h, w = gray.shape[:2]
    s = side / float(max(h, w))
    if abs(s - 1.0) < 1e-3:
        return gray, 1.0
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp), s


def _clip_box(x: float, y: float, w: float, h: float, width: int, height: int) -> Optional[Box]:
    x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
    x1, y1 = min(width, int(round(x + w))), min(height, int(round(y + h)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return Box(x0, y0, x1 - x0, y1 - y0)


class FaceFinder:
    """Haar face finder; eyes from the landmark model, else the eye cascade, else the face geometry.

    ``eye_landmarks=False`` leaves the landmark model out (the eye cascade places every eye pair).
    """

    def __init__(self, detect_side: int = 320, min_face_fraction: float = 0.08,
                 max_faces: int = 8, pad_fraction: float = 0.25,
                 crop_max_side: int = 1024, quick_side: Optional[int] = 96,
                 quick_scale_factor: float = 1.2, eye_landmarks: bool = True) -> None:
        self.detect_side = detect_side
        self.quick_side = quick_side  # None: no quick pass, always the full search
        self.quick_scale_factor = quick_scale_factor
        self.min_face_fraction = min_face_fraction
        self.max_faces = max_faces
        self.pad_fraction = pad_fraction
        self.crop_max_side = crop_max_side
        self.face_cascade = cascade("haarcascade_frontalface_default.xml")
        self.eye_cascade = cascade("haarcascade_eye.xml")
        self.landmarks = EyeLandmarks() if eye_landmarks else None
        self._relaxed: Optional[List[Tuple[cv2.CascadeClassifier, int, bool]]] = None  # loaded on first use

    # -- faces -------------------------------------------------------------
    def _detect_faces(self, small: np.ndarray, min_neighbors: int, scale_factor: float = 1.1) -> np.ndarray:
        min_side = max(20, int(self.min_face_fraction * max(small.shape[:2])))
        found = self.face_cascade.detectMultiScale(
            small, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(min_side, min_side))
        return np.asarray(found, dtype=np.float64).reshape(-1, 4)

    def _padded(self, small: np.ndarray) -> Tuple[np.ndarray, int]:
        """``small`` with ``pad_fraction`` of its longer side replicated around it (a face that
        touches the border becomes whole for the cascade), and the pad in pixels."""
        pad = int(round(self.pad_fraction * max(small.shape[:2])))
        return cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE), pad

    def _search_faces(self, gray: np.ndarray, side: int, scale_factor: float) -> List[Box]:
        """Face boxes found on a copy scaled to ``side`` pixels (padded retry), largest first."""
        h, w = gray.shape[:2]
        small, s = _scaled(gray, side)
        boxes = self._detect_faces(small, 5, scale_factor)
        if len(boxes) == 0:
            padded, pad = self._padded(small)
            boxes = self._detect_faces(padded, 4, scale_factor)
            boxes[:, :2] -= pad
        out = []
        for bx, by, bw, bh in boxes / s:
            box = _clip_box(bx, by, bw, bh, w, h)
            if box is not None:
                out.append(box)
        out.sort(key=lambda b: -b.area)
        return out[: self.max_faces]

    def find_face_boxes(self, gray: np.ndarray) -> List[Box]:
        """Face boxes in image pixels, largest first: quick pass, then the full search."""
        quick = self._search_faces(gray, self.quick_side, self.quick_scale_factor) if self.quick_side else []
        return quick or self._search_faces(gray, self.detect_side, 1.1)

    # -- eyes --------------------------------------------------------------
    def geometry_eyes(self, face: Box) -> Tuple[Box, Box]:
        """Eye boxes placed from the face box alone."""
        return eye_boxes(GEOMETRY_EYE_SIZE * face.w, *((face.x + fx * face.w, face.y + fy * face.h)
                                                       for fx, fy in (GEOMETRY_LEFT_EYE, GEOMETRY_RIGHT_EYE)))

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

    def eye_candidates(self, gray: np.ndarray, face: Box,
                       rows: Tuple[float, float] = EYE_SEARCH_ROWS,
                       scale_factor: float = EYE_SCALE_FACTOR) -> List[Box]:
        """Every eye-cascade hit in ``rows`` (fractions of the face's height), in image pixels."""
        top = face.y + int(rows[0] * face.h)
        roi = gray[top: face.y + int(rows[1] * face.h), face.x: face.x + face.w]
        if roi.size == 0 or min(roi.shape[:2]) < 8:
            return []
        small, s = _scaled(roi, 160)
        small = cv2.equalizeHist(small)
        found = self.eye_cascade.detectMultiScale(
            small, scaleFactor=scale_factor, minNeighbors=3, minSize=(12, 12),
            maxSize=(int(0.5 * small.shape[1]), int(0.5 * small.shape[1])))
        return [Box(int(round(face.x + x / s)), int(round(top + y / s)), int(round(w / s)), int(round(h / s)))
                for x, y, w, h in np.asarray(found).reshape(-1, 4)]

    def face_with_eyes(self, gray: np.ndarray, box: Box, cands: Optional[List[Box]] = None) -> Face:
        """A face with its landmark eyes, else its cascade eye pair, else geometric eyes.

        ``cands`` are the eye-cascade hits in the face when the caller already has them.
        """
        landmarks = self.landmark_eyes(gray, box)
        if landmarks:
            return Face(box, landmarks, "landmarks")
        if cands is None:
            cands = self.eye_candidates(gray, box)
        eyes = pick_eye_pair(cands, box)
        return Face(box, eyes, "cascade") if eyes else Face(box, self.geometry_eyes(box), "geometry")

    def relaxed_face_angle(self, gray: np.ndarray) -> Optional[float]:
        """The first of ``RELAXED_ROTATIONS`` at which a looser face search fires, or None.

        The search (``RELAXED_FACE_CASCADES``) runs on the quick-pass copy (``quick_side``
        pixels, padded as in the face search), turned by each angle, and wants a face filling
        ``RELAXED_MIN_FACE_FRACTION`` of it: a tight crop, not a face somewhere in a scene.
        """
        if self._relaxed is None:
            self._relaxed = [(cascade(name), neighbours, mirrored) for name, neighbours, mirrored in RELAXED_FACE_CASCADES]
        padded, _ = self._padded(_scaled(gray, self.quick_side or 96)[0])
        h, w = padded.shape[:2]
        side = max(20, int(RELAXED_MIN_FACE_FRACTION * max(h, w)))
        for angle in RELAXED_ROTATIONS:
            turned = padded if angle == 0 else cv2.warpAffine(
                padded, cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0), (w, h), borderMode=cv2.BORDER_REPLICATE)
            extra = RELAXED_TURNED_EXTRA_NEIGHBOURS if angle else 0
            for clf, neighbours, mirrored in self._relaxed:
                for img in (turned, np.ascontiguousarray(turned[:, ::-1])) if mirrored else (turned,):
                    if len(clf.detectMultiScale(img, scaleFactor=1.1, minNeighbors=neighbours + extra, minSize=(side, side))):
                        return angle
        return None

    def tilted_geometry_eyes(self, face: Box, angle: float) -> Tuple[Box, Box]:
        """``geometry_eyes`` of a face turned by ``angle`` degrees (counter-clockwise) about its
        centre: where the eyes sit on a head that is upright once the image is turned so."""
        eyes = self.geometry_eyes(face)
        if angle == 0:
            return eyes
        back = cv2.invertAffineTransform(cv2.getRotationMatrix2D(face.center, angle, 1.0))
        out = []
        for eye in eyes:
            x, y = back @ np.array([eye.center[0], eye.center[1], 1.0])
            out.append(Box(int(round(x - eye.w / 2.0)), int(round(y - eye.h / 2.0)), eye.w, eye.h))
        return out[0], out[1]

    def whole_image_face(self, gray: np.ndarray) -> Optional[Face]:
        """Treat a tight, roughly square face crop as one face when there is evidence of one.

        The face cascade often misses crops where the face fills the frame (tilted heads,
        profiles, closed eyes, hair or hands at the border). Such an image is accepted as a face
        if the eye cascade finds an eye in its upper part (only up to ``crop_max_side`` pixels: in
        a large photo an eye hit is weak evidence); its eyes are then the cascade pair or the
        geometric ones. Otherwise it is a face if the relaxed face search fires
        (``relaxed_face_angle``, any size: it wants a face filling the image), with the cascade
        pair if there is one, else geometric eyes tilted by the angle at which it fired.
        """
        h, w = gray.shape[:2]
        if not 0.6 <= w / h <= 1.6:
            return None
        box = Box(0, 0, w, h)
        cands = self.eye_candidates(gray, box, WHOLE_IMAGE_EYE_ROWS, WHOLE_IMAGE_EYE_SCALE_FACTOR)
        if cands and max(h, w) <= self.crop_max_side:
            return self.face_with_eyes(gray, box, cands)
        angle = self.relaxed_face_angle(gray)
        if angle is None:
            return None
        face = self.face_with_eyes(gray, box, cands)
        return face if face.eyes_found else Face(box, self.tilted_geometry_eyes(box, angle), "geometry")

    def faces_from_boxes(self, gray: np.ndarray, boxes: Sequence[Box],
                         mode: RunningMode = RunningMode.IMAGE) -> List[Face]:
        """Faces with their eyes for given face boxes (e.g. found in an earlier camera frame).

        With no box, in a mode whose pictures may be a face crop (not ``LIVE_STREAM``), a tight
        face crop may still give one face (``whole_image_face``).
        """
        faces = [self.face_with_eyes(gray, box) for box in boxes]
        if not faces and mode.may_be_a_face_crop:
            crop = self.whole_image_face(gray)
            faces = [crop] if crop else []
        return faces

    def find(self, gray: np.ndarray, mode: RunningMode = RunningMode.IMAGE) -> List[Face]:
        """Faces with their eyes, largest face first.

        For any 2-D uint8 ``gray`` (at least 1 x 1): at most ``max_faces`` faces, each box at
        least 2 x 2 pixels and inside the image, both eye centres inside their face box.
        ``RunningMode.LIVE_STREAM`` is for camera scenes, which are never one tight face crop: only
        face boxes count, and a frame without one costs no relaxed search.
        """
        return self.faces_from_boxes(gray, self.find_face_boxes(gray), mode)


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
