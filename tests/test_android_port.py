"""The eye-feature port that docs/android.md spells out, written in plain numpy (no OpenCV),
gives the runtime's bands and features: the document's recipe is exact.

This is not a second feature implementation for use anywhere: it checks that the steps an
app has to port (affine warp in OpenCV's fixed point, area pre-shrink, Sobel, scaling) are
described exactly. When edge_runtime/features.py changes, this test fails until
docs/android.md and this file are updated together.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.features import (FEATURE_CLIP, FEATURE_SCALE, STUDENT_GEOMETRY, SUPERSAMPLE, align_band, eye_centers,
                                   eye_features, face_band, gradient_channels, mirror_features)


def reflect101(i: np.ndarray, n: int) -> np.ndarray:
    """OpenCV's BORDER_REFLECT_101 index: -1 -> 1, n -> n - 2."""
    if n == 1:
        return np.zeros_like(i)
    period = 2 * n - 2
    i = np.abs(i) % period
    return np.where(i >= n, period - i, i)


def band_matrix(left, right, height: int, width: int, eye_y: float, spacing: float) -> np.ndarray:
    (lx, ly), (rx, ry) = left, right
    tlx, trx, ty = width / 2.0 - spacing * width / 2.0, width / 2.0 + spacing * width / 2.0, eye_y * height
    scale = (trx - tlx) / max(math.hypot(rx - lx, ry - ly), 1e-6)
    angle = math.atan2(ry - ly, rx - lx)
    c, s = scale * math.cos(-angle), scale * math.sin(-angle)
    return np.array([[c, -s, tlx - (c * lx - s * ly)], [s, c, ty - (s * lx + c * ly)]])


def area_tab(ssize: int, dsize: int, scale: float) -> list:
    """(destination index, source index, float32 weight) of OpenCV's INTER_AREA along one axis."""
    tab = []
    for d in range(dsize):
        f1 = d * scale
        f2 = f1 + scale
        cell = min(scale, ssize - f1)
        s2 = min(math.floor(f2), ssize - 1)
        s1 = min(math.ceil(f1), s2)
        if s1 - f1 > 1e-3:
            tab.append((d, s1 - 1, np.float32((s1 - f1) / cell)))
        tab += [(d, s, np.float32(1.0 / cell)) for s in range(s1, s2)]
        if f2 - s2 > 1e-3:
            tab.append((d, s2, np.float32(min(f2 - s2, 1.0, cell) / cell)))
    return tab


def shrink_area(src: np.ndarray, f: float) -> np.ndarray:
    """cv2.resize(src, None, fx=f, fy=f, INTER_AREA) for f < 1 (1/f not an integer): float32 sums."""
    h, w = src.shape
    dh, dw = int(np.rint(h * f)), int(np.rint(w * f))
    xtab, ytab = area_tab(w, dw, 1.0 / f), area_tab(h, dh, 1.0 / f)
    out = np.zeros((dh, dw), np.float32)
    for dy, sy, beta in ytab:
        row = np.zeros(dw, np.float32)
        for dx, sx, alpha in xtab:
            row[dx] = np.float32(row[dx] + np.float32(src[sy, sx]) * alpha)
        out[dy] = out[dy] + row * beta
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def warp_bilinear(src: np.ndarray, m: np.ndarray, height: int, width: int) -> np.ndarray:
    """cv2.warpAffine(INTER_LINEAR, BORDER_REFLECT_101) for uint8: 1/32 pixel steps, 15-bit weights."""
    a, b, c, d = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    det = a * d - b * c
    det = 1.0 / det if det else 0.0
    i00, i01, i10, i11 = d * det, -b * det, -c * det, a * det
    i02, i12 = -i00 * m[0, 2] - i01 * m[1, 2], -i10 * m[0, 2] - i11 * m[1, 2]
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    sx = (np.rint((i01 * y + i02) * 1024) + 16 + np.rint(i00 * x * 1024)).astype(np.int64) >> 5
    sy = (np.rint((i11 * y + i12) * 1024) + 16 + np.rint(i10 * x * 1024)).astype(np.int64) >> 5
    x0, y0, fx, fy = sx >> 5, sy >> 5, sx & 31, sy & 31
    h, w = src.shape

    def px(yy, xx):
        return src[reflect101(yy, h), reflect101(xx, w)].astype(np.int64)

    acc = (px(y0, x0) * (32 - fx) * (32 - fy) + px(y0, x0 + 1) * fx * (32 - fy)
           + px(y0 + 1, x0) * (32 - fx) * fy + px(y0 + 1, x0 + 1) * fx * fy) * 32
    return ((acc + (1 << 14)) >> 15).astype(np.uint8)


def sobel_features(band: np.ndarray, scale: float, clip: float, supersample: int) -> np.ndarray:
    """Sobel of the supersampled band in model-pixel units, averaged over supersample^2 blocks."""
    g = band.astype(np.float32) * np.float32(1.0 / 255.0)
    h, w = g.shape
    yy, xx = np.mgrid[0:h, 0:w]

    def at(dy, dx):
        return g[reflect101(yy + dy, h), reflect101(xx + dx, w)]

    gx = (at(-1, 1) - at(-1, -1)) + 2 * (at(0, 1) - at(0, -1)) + (at(1, 1) - at(1, -1))
    gy = (at(1, -1) - at(-1, -1)) + 2 * (at(1, 0) - at(-1, 0)) + (at(1, 1) - at(-1, 1))
    mag = np.sqrt(gx * gx + gy * gy)
    fine = np.stack([gx, gy, mag], axis=-1) * np.float32(scale * supersample)
    blocks = fine.reshape(h // supersample, supersample, w // supersample, supersample, 3)
    return np.clip(blocks.mean(axis=(1, 3)), -clip, clip)


def ported_band(gray: np.ndarray, left, right, geometry: dict) -> np.ndarray:
    m = band_matrix(left, right, geometry["height"], geometry["width"], geometry["eye_y"], geometry["eye_spacing"])
    scale = math.hypot(m[0, 0], m[1, 0])
    if scale < 0.5 and 2.0 * scale * min(gray.shape) >= 1.0:
        f = 2.0 * scale
        gray = shrink_area(gray, f)
        m[:, :2] /= f
    return warp_bilinear(gray, m, geometry["height"], geometry["width"])


@pytest.fixture(scope="module")
def faces(sample_images) -> list:
    """(gray, largest face) of the examples and of one 3x larger, whose band is pre-shrunk."""
    grays = [decode_image(p) for p in sample_images]
    grays.append(cv2.resize(grays[0], None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC))
    finder = FaceFinder()
    return [(gray, finder.find(gray)[0]) for gray in grays]


def test_documented_port_gives_the_runtimes_band_and_features(faces):
    g = STUDENT_GEOMETRY.supersampled()
    shrunk = 0
    for gray, face in faces:
        left, right = eye_centers(face)
        shrunk += math.hypot(right[0] - left[0], right[1] - left[1]) > 2 * (g.eye_spacing * g.width)
        band = ported_band(gray, left, right, g._asdict())
        assert np.array_equal(band, align_band(gray, left, right, g))
        np.testing.assert_allclose(sobel_features(band, FEATURE_SCALE, FEATURE_CLIP, SUPERSAMPLE),
                                   eye_features(gray, face, STUDENT_GEOMETRY), atol=1e-5, rtol=0)
    assert shrunk >= 1  # the pre-shrink path was taken


def test_documented_pre_shrink_is_opencvs_area_resize(sample_images):
    gray = cv2.imread(str(sample_images[0]), cv2.IMREAD_GRAYSCALE)
    for f in (0.23, 0.41, 0.4999):
        assert np.array_equal(shrink_area(gray, f), cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA))


def test_documented_warp_is_opencvs_on_rotated_scaled_bands(sample_images):
    gray = cv2.imread(str(sample_images[1]), cv2.IMREAD_GRAYSCALE)
    for left, right in (((80.3, 90.5), (150.5, 110.0)), ((5.0, 5.0), (60.0, -20.0)), ((100.0, 100.0), (101.0, 100.5))):
        m = band_matrix(left, right, 48, 128, 0.5, 0.45)
        ref = cv2.warpAffine(gray, m, (128, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        assert np.array_equal(warp_bilinear(gray, m, 48, 128), ref), (left, right)


def test_mirrored_view_is_the_mirror_images_features(faces):
    """The documented mirror view (flip the features, negate sobel_x) equals the features of the
    mirror image of the band, so an app may derive it without a second gradient pass."""
    for gray, face in faces:
        band = face_band(gray, face, STUDENT_GEOMETRY)
        direct = gradient_channels(np.ascontiguousarray(band[:, ::-1]))
        np.testing.assert_allclose(mirror_features(gradient_channels(band)), direct, atol=1e-5, rtol=0)
        assert np.abs(direct[..., 0]).max() > 0.5  # real gradients, not an all-zero band
