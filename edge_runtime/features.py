"""The one eye-feature function, shared by training, evaluation and inference.

An eye band is cut from the grayscale image by an affine warp that puts the two
eye centres on fixed points (so the band is level and of fixed scale whatever the
face size), then turned into Sobel gradient channels (gx, gy, magnitude) on a fixed scale.

The band is cut at ``SUPERSAMPLE`` times the model's resolution and the gradients are
taken there, then averaged over ``SUPERSAMPLE`` x ``SUPERSAMPLE`` blocks, so the magnitude
channel keeps how sharp the eyes are at close to the image's own resolution. The channels
are not normalised: brightness, contrast and resolution invariance come from augmentation
in training. Earlier feature versions and what they cost: research/features_v3.md.
"""
from __future__ import annotations

import math
from typing import Mapping, NamedTuple, Optional, Tuple

import cv2
import numpy as np

from .boxes import Face

#: Version of the feature layout; a model trained on another version is refused.
FEATURE_VERSION = "eyeband-sobel-v3"
#: Names of the channels of the feature tensor, in order.
CHANNELS = ("sobel_x", "sobel_y", "sobel_magnitude")
#: The channel whose sign a left-right mirror turns (the x gradient).
MIRROR_NEGATED_CHANNEL = CHANNELS.index("sobel_x")
#: Gradients of gray/255 are multiplied by this, then clipped to +-FEATURE_CLIP.
FEATURE_SCALE = 4.0
#: Features are clipped to +-this value after scaling.
FEATURE_CLIP = 8.0
#: Bands are cut at this many times the model's resolution; gradients are averaged back down.
SUPERSAMPLE = 2

Point = Tuple[float, float]


class BandGeometry(NamedTuple):
    """Where the eyes land in the band: size in pixels, eye line height and eye spacing.

    ``eye_y`` is the eye line as a fraction of the height; ``eye_spacing`` the distance
    between the eye centres as a fraction of the width (centred horizontally).
    """

    height: int
    width: int
    eye_y: float
    eye_spacing: float

    @classmethod
    def from_dict(cls, d: Mapping) -> "BandGeometry":
        return cls(int(d["height"]), int(d["width"]), float(d["eye_y"]), float(d["eye_spacing"]))

    def to_dict(self) -> dict:
        return self._asdict()

    def scaled(self, factor: float) -> "BandGeometry":
        """The same band with more (factor > 1) context around it, at the same pixel scale."""
        h, w = round(self.height * factor), round(self.width * factor)
        return BandGeometry(h, w, 0.5 + (self.eye_y - 0.5) / factor, self.eye_spacing / factor)

    def zoomed(self, factor: float) -> "BandGeometry":
        """The same band with the eyes ``factor`` times further apart: a closer (factor > 1) or
        wider (factor < 1) view of the face, at the same band size (a model's ``zooms`` views)."""
        return self._replace(eye_spacing=self.eye_spacing * factor)

    def supersampled(self) -> "BandGeometry":
        """The same band with SUPERSAMPLE times the pixels: where the gradients are taken."""
        return BandGeometry(self.height * SUPERSAMPLE, self.width * SUPERSAMPLE, self.eye_y, self.eye_spacing)

    def eye_points(self) -> Tuple[Point, Point]:
        """The target eye centres (left, right) in band pixels."""
        y = self.eye_y * self.height
        half = self.eye_spacing * self.width / 2.0
        return (self.width / 2.0 - half, y), (self.width / 2.0 + half, y)


#: The student's band: both eyes with brows and lids, 48 x 128 pixels.
STUDENT_GEOMETRY = BandGeometry(height=48, width=128, eye_y=0.5, eye_spacing=0.45)


def band_transform(left_eye: Point, right_eye: Point, geometry: BandGeometry) -> np.ndarray:
    """The 2x3 affine matrix that maps the image's eye centres onto the band's."""
    (lx, ly), (rx, ry) = left_eye, right_eye
    dx, dy = rx - lx, ry - ly
    dist = max(math.hypot(dx, dy), 1e-6)
    (tlx, tly), (trx, _) = geometry.eye_points()
    scale = (trx - tlx) / dist
    angle = math.atan2(dy, dx)
    c, s = scale * math.cos(-angle), scale * math.sin(-angle)
    # rotate+scale about the left eye, then move it onto its target
    return np.array([[c, -s, tlx - (c * lx - s * ly)],
                     [s, c, tly - (s * lx + c * ly)]], dtype=np.float64)


def align_band(gray: np.ndarray, left_eye: Point, right_eye: Point, geometry: BandGeometry) -> np.ndarray:
    """Cut the level, fixed-scale eye band (uint8, geometry.height x geometry.width)."""
    m = band_transform(left_eye, right_eye, geometry)
    scale = math.hypot(m[0, 0], m[1, 0])
    src = gray
    # big face: pre-shrink so the warp does not alias (not when eyes absurdly far apart
    # for the image size would shrink it to nothing: cv2.resize refuses an empty size)
    if scale < 0.5 and 2.0 * scale * min(gray.shape[:2]) >= 1.0:
        f = 2.0 * scale
        src = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        m = m.copy()
        m[:, :2] /= f
    return cv2.warpAffine(src, m, (geometry.width, geometry.height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT_101)


def gradient_channels(band: np.ndarray) -> np.ndarray:
    """Model features of a supersampled uint8 band: Sobel gx, gy and magnitude of gray/255,
    in units of model pixels (times SUPERSAMPLE) and FEATURE_SCALE, averaged over
    SUPERSAMPLE x SUPERSAMPLE blocks, clipped to +-FEATURE_CLIP."""
    k = FEATURE_SCALE * SUPERSAMPLE / 255.0
    gx = cv2.Sobel(band, cv2.CV_32F, 1, 0, ksize=3, scale=k)
    gy = cv2.Sobel(band, cv2.CV_32F, 0, 1, ksize=3, scale=k)
    mag = np.sqrt(gx * gx + gy * gy)  # not cv2.magnitude: its SIMD path varies with memory alignment
    size = (band.shape[1] // SUPERSAMPLE, band.shape[0] // SUPERSAMPLE)
    # INTER_AREA at an integer factor is the block mean
    out = np.dstack([cv2.resize(c, size, interpolation=cv2.INTER_AREA) for c in (gx, gy, mag)])
    return np.clip(out, -FEATURE_CLIP, FEATURE_CLIP, out=out)


def mirror_features(features: np.ndarray) -> np.ndarray:
    """The features of the left-right mirrored band: flipped, with the x gradient negated
    (one H x W x C tensor or a batch of them)."""
    out = features[..., ::-1, :].copy()
    out[..., MIRROR_NEGATED_CHANNEL] *= -1.0
    return out


def eye_centers(face: Face) -> Tuple[Point, Point]:
    """Centres of a face's two eyes (image-left first)."""
    return face.eyes[0].center, face.eyes[1].center


def face_band(gray: np.ndarray, face: Face, geometry: Optional[BandGeometry] = None) -> np.ndarray:
    """The supersampled eye band of one face (uint8): what the features are computed from."""
    left, right = eye_centers(face)
    return align_band(gray, left, right, (geometry or STUDENT_GEOMETRY).supersampled())


def eye_features(gray: np.ndarray, face: Face, geometry: Optional[BandGeometry] = None,
                 mirrored: bool = False) -> np.ndarray:
    """Model input (H x W x 3 float32) for one face: aligned eye band -> gradient channels.

    ``mirrored`` gives the features of the band's mirror image (the second view a model may average over).
    """
    return band_features(face_band(gray, face, geometry), mirrored)


def band_features(band: np.ndarray, mirrored: bool = False) -> np.ndarray:
    """Gradient channels of a supersampled band, or of its mirror image."""
    features = gradient_channels(band)
    return mirror_features(features) if mirrored else features
