"""Find faces with OpenCV Haar cascades, and hand each box to the eye placement (``eyes.py``).

Faces are searched first on a small copy of the image (``quick_side`` pixels, coarse
scale steps), which finds a face filling a quarter or more of the image in a few
milliseconds; only when that finds none is the image searched again at
``detect_side`` pixels, for smaller faces. Tight face crops, where the face touches
the border and the cascade misses it, are retried on a padded copy; a picture that may be
one face crop is taken as a face when its eyes or a relaxed face search say so
(``FaceFinder.whole_image_face``).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .boxes import Box, Face
from .eyes import WHOLE_IMAGE_EYE_ROWS, WHOLE_IMAGE_EYE_SCALE_FACTOR, EyePlacer, tilted_geometry_eyes
from .haar import cascade, resize_to_side
from .modes import RunningMode

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


def _clip_box(x: float, y: float, w: float, h: float, width: int, height: int) -> Optional[Box]:
    x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
    x1, y1 = min(width, int(round(x + w))), min(height, int(round(y + h)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return Box(x0, y0, x1 - x0, y1 - y0)


class FaceFinder:
    """Haar face finder; the eyes of each face are placed by ``eyes`` (an ``EyePlacer``).

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
        self.eyes = EyePlacer(landmarks=eye_landmarks)
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
        small, s = resize_to_side(gray, side)
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

    # -- a picture that may be one face crop ----------------------------------
    def relaxed_face_angle(self, gray: np.ndarray) -> Optional[float]:
        """The first of ``RELAXED_ROTATIONS`` at which a looser face search fires, or None.

        The search (``RELAXED_FACE_CASCADES``) runs on the quick-pass copy (``quick_side``
        pixels, padded as in the face search), turned by each angle, and wants a face filling
        ``RELAXED_MIN_FACE_FRACTION`` of it: a tight crop, not a face somewhere in a scene.
        """
        if self._relaxed is None:
            self._relaxed = [(cascade(name), neighbours, mirrored) for name, neighbours, mirrored in RELAXED_FACE_CASCADES]
        padded, _ = self._padded(resize_to_side(gray, self.quick_side or 96)[0])
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
        cands = self.eyes.candidates(gray, box, WHOLE_IMAGE_EYE_ROWS, WHOLE_IMAGE_EYE_SCALE_FACTOR)
        if cands and max(h, w) <= self.crop_max_side:
            return self.eyes.place(gray, box, cands)
        angle = self.relaxed_face_angle(gray)
        if angle is None:
            return None
        face = self.eyes.place(gray, box, cands)
        return face if face.eyes_found else Face(box, tilted_geometry_eyes(box, angle), "geometry")

    def faces_from_boxes(self, gray: np.ndarray, boxes: Sequence[Box],
                         mode: RunningMode = RunningMode.IMAGE) -> List[Face]:
        """Faces with their eyes for given face boxes (e.g. found in an earlier camera frame).

        With no box, in a mode whose pictures may be a face crop (not ``LIVE_STREAM``), a tight
        face crop may still give one face (``whole_image_face``).
        """
        faces = [self.eyes.place(gray, box) for box in boxes]
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

