"""Property and fuzz tests (hypothesis) of decode, face/eye finding and eye features.

What the runtime guarantees, and what these tests check:

- ``decode_image`` / ``decode_bytes`` / ``array_to_gray``: for ANY input (random or mutated
  image bytes, numpy arrays of any shape and dtype, other objects) they either return a
  C-contiguous 2-D uint8 array with at least one pixel and at most ``max_pixels``, or raise
  ``InputError`` with a one-line message. Every 2-D, HxWx1, HxWx3 or HxWx4 array of a
  bool/int/uint/float dtype with at least one pixel is accepted, keeping its height and width.
- ``FaceFinder.find``: for any 2-D uint8 image, a list of at most ``max_faces`` faces whose
  boxes are inside the image (at least 2 x 2) with both eye centres inside the face box.
  ``EyePlacer.place`` accepts any box (the camera re-scores tracked boxes).
- ``eye_features``: for any 2-D uint8 image and any int64 eye boxes (outside the image,
  empty, negative or huge) a finite float32 band of the model's shape within +-FEATURE_CLIP.
- ``Detector.detect`` on mutated image bytes: a docs/api.md result, ``error`` with one line or
  a verdict, never an exception.

The runs are derandomized (same examples every run, so ``make test`` is stable); set
EYEGRAD_FUZZ_EXAMPLES=2000 for a longer random search.
"""
from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path
from typing import List

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst
from PIL import Image

from eyegrad.runtime.boxes import EYE_ORIGINS, Box, Face
from eyegrad.runtime.decode import array_to_gray, decode_bytes, decode_image
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.errors import InputError
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.features import FEATURE_CLIP, STUDENT_GEOMETRY, eye_features

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEEP = int(os.environ.get("EYEGRAD_FUZZ_EXAMPLES", "0"))


def fuzz(n: int) -> settings:
    """Hypothesis settings: ``n`` examples, no deadline, derandomized unless a deep run is asked for."""
    return settings(max_examples=DEEP or n, deadline=None, derandomize=not DEEP, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@lru_cache(maxsize=None)
def face_gray() -> np.ndarray:
    """A real face (examples/), 8-bit gray."""
    return np.asarray(Image.open(sorted(EXAMPLES.glob("real_*.jpg"))[0]).convert("L"))


def encode(img: Image.Image, fmt: str, **save_args) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **save_args)
    return buf.getvalue()


@lru_cache(maxsize=None)
def seed_images() -> List[bytes]:
    """Small valid encodings, in every format and mode decode reads, for the mutation fuzzer."""
    face = Image.fromarray(face_gray()).resize((48, 48))
    rgb = Image.merge("RGB", [face, face.transpose(Image.Transpose.FLIP_LEFT_RIGHT), face])
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [face, face.rotate(90), face.rotate(180)]
    return [
        encode(rgb, "JPEG", quality=80), encode(rgb, "JPEG", quality=80, progressive=True),
        encode(rgb, "JPEG", exif=exif.tobytes()), encode(rgb.convert("CMYK"), "JPEG"),
        encode(rgb, "PNG"), encode(face, "PNG"), encode(rgb.convert("RGBA"), "PNG"), encode(rgb.convert("P"), "PNG"),
        encode(Image.fromarray(np.asarray(face, np.uint16) * 257), "PNG"),
        encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        encode(rgb, "BMP"), encode(rgb, "WEBP"), encode(rgb, "TIFF"), encode(rgb, "TIFF", compression="tiff_lzw"),
        encode(face, "PPM"),
    ]


def check_gray(gray: np.ndarray, max_pixels: int) -> None:
    assert isinstance(gray, np.ndarray) and gray.dtype == np.uint8 and gray.ndim == 2
    assert 1 <= gray.size <= max_pixels and gray.flags.c_contiguous


def check_input_error(exc: InputError) -> None:
    msg = str(exc)
    assert msg and "\n" not in msg, repr(msg)


# -- decode ------------------------------------------------------------------------------


@fuzz(200)
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    for source in (data, bytearray(data), memoryview(data)):
        try:
            check_gray(decode_image(source), 64_000_000)
        except InputError as exc:
            check_input_error(exc)


@st.composite
def mutated_images(draw) -> bytes:
    """A seed image with random byte overwrites, insertions, deletions and maybe a truncation."""
    data = bytearray(draw(st.sampled_from(seed_images())))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(("set", "insert", "delete")))
        if op == "set":
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif len(data) > 1:
            del data[pos: pos + draw(st.integers(1, 8))]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@fuzz(200)
@given(mutated_images())
def test_mutated_images(data: bytes) -> None:
    """Damaged real encodings reach deep into every decoder; a 1 M pixel limit keeps memory small."""
    try:
        check_gray(decode_bytes(data, max_pixels=1_000_000), 1_000_000)
    except InputError as exc:
        check_input_error(exc)


def test_seed_images_decode() -> None:
    """The fuzzer's seeds are themselves valid (so mutations start from every decoder)."""
    for data in seed_images():
        check_gray(decode_bytes(data), 48 * 48)


ANY_DTYPE = st.one_of(npst.scalar_dtypes(), npst.byte_string_dtypes(), npst.unicode_string_dtypes(),
                      st.just(np.dtype(object)), npst.array_dtypes(allow_subarrays=True))


@fuzz(200)
@given(npst.arrays(ANY_DTYPE, npst.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9)),
       st.booleans())
def test_random_arrays(arr: np.ndarray, transpose: bool) -> None:
    """Any shape and dtype: a gray of the same height and width, or an InputError."""
    if transpose:  # a non-contiguous view
        arr = arr.T
    expected_ok = (arr.dtype.kind in "buif" and arr.size > 0
                   and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4))))
    for convert in (decode_image, array_to_gray):
        try:
            gray = convert(arr)
        except InputError as exc:
            check_input_error(exc)
            assert not expected_ok, f"valid array refused: {arr.dtype} {arr.shape}: {exc}"
        else:
            assert expected_ok
            check_gray(gray, 64_000_000)
            assert gray.shape == arr.shape[:2]
            if arr.dtype == np.uint8 and arr.ndim == 2:
                np.testing.assert_array_equal(gray, arr)


@pytest.mark.parametrize("source", [None, 3, 2.5, [[0, 1], [2, 3]], {"a": 1}, object(), "", "\x00"])
def test_other_objects(source) -> None:
    with pytest.raises(InputError) as info:
        decode_image(source)
    check_input_error(info.value)


# -- faces, eyes and features ------------------------------------------------------------


@st.composite
def gray_images(draw, max_side: int = 240) -> np.ndarray:
    """2-D uint8 images: noise, flat, gradient, or a resized/cropped real face."""
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(("noise", "flat", "gradient", "face")))
    if kind == "noise":
        return rng.integers(0, 256, (h, w), dtype=np.uint8)
    if kind == "flat":
        return np.full((h, w), draw(st.integers(0, 255)), np.uint8)
    if kind == "gradient":
        return np.add.outer(np.arange(h), np.arange(w)).astype(np.uint8)
    face = face_gray()
    y0, x0 = draw(st.integers(0, face.shape[0] - 1)), draw(st.integers(0, face.shape[1] - 1))
    crop = np.ascontiguousarray(face[y0:, x0:])
    return np.asarray(Image.fromarray(crop).resize((w, h)))


INT64 = st.integers(-2**63, 2**63 - 1)
COORD = st.one_of(st.integers(-400, 400), st.integers(-10**7, 10**7), INT64)
SIZE = st.one_of(st.integers(-5, 300), st.just(0), st.integers(0, 10**7), INT64)
BOXES = st.builds(Box, COORD, COORD, SIZE, SIZE)
FACES = st.builds(Face, BOXES, st.tuples(BOXES, BOXES), st.sampled_from(EYE_ORIGINS))


@pytest.fixture(scope="module")
def finder() -> FaceFinder:
    return FaceFinder()


@fuzz(60)
@given(gray=gray_images())
def test_find_faces(finder: FaceFinder, gray: np.ndarray) -> None:
    faces = finder.find(gray)
    h, w = gray.shape
    assert isinstance(faces, list) and len(faces) <= finder.max_faces
    for f in faces:
        b = f.box
        assert 0 <= b.x and 0 <= b.y and b.w >= 2 and b.h >= 2 and b.x + b.w <= w and b.y + b.h <= h, (b, gray.shape)
        assert f.eyes_from in EYE_ORIGINS and len(f.eyes) == 2
        for cx, cy in (e.center for e in f.eyes):
            assert b.x <= cx <= b.x + b.w and b.y <= cy <= b.y + b.h, (f, gray.shape)


@fuzz(100)
@given(gray=gray_images(), box=BOXES)
def test_face_with_eyes_any_box(finder: FaceFinder, gray: np.ndarray, box: Box) -> None:
    face = finder.eyes.place(gray, box)
    assert face.box == box and face.eyes_from in EYE_ORIGINS and len(face.eyes) == 2


@fuzz(150)
@given(gray=gray_images(max_side=120), face=FACES,
       geometry=st.sampled_from((STUDENT_GEOMETRY, STUDENT_GEOMETRY.scaled(1.5))))
def test_eye_features_any_face(gray: np.ndarray, face: Face, geometry) -> None:
    x = eye_features(gray, face, geometry)
    assert x.dtype == np.float32 and x.shape == (geometry.height, geometry.width, 3)
    assert np.isfinite(x).all() and np.abs(x).max() <= FEATURE_CLIP


# -- end to end --------------------------------------------------------------------------


@fuzz(60)
@given(data=mutated_images())
def test_detector_on_mutated_images(detector: Detector, data: bytes) -> None:
    d = detector.detect(data, path="fuzz.bin").to_dict()
    assert d["verdict"] in ("real", "fake", "uncertain", "no_face", "error")
    if d["verdict"] == "error":
        assert d["error"] and "\n" not in d["error"] and d["p_fake"] is None
    else:
        assert d["error"] is None
        assert (d["p_fake"] is None) == (d["verdict"] == "no_face")
