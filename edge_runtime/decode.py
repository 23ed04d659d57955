"""Decode any image source into an 8-bit grayscale numpy array.

Accepts a path, raw bytes or a numpy array. Applies EXIF orientation, converts
gray/RGB/RGBA/16-bit/palette/CMYK images, and refuses decompression bombs with a
clear one-line ``InputError``.
"""
from __future__ import annotations

import io
import os
import stat
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Callable, Tuple, Union

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray]

#: Largest image accepted, in pixels (about 8000 x 8000).
MAX_PIXELS = 64_000_000
#: Longest side accepted, in pixels: a PNG decoder holds rows, so a 1 x 64M image costs hundreds of MB.
MAX_SIDE = 1 << 15
#: Largest file accepted, in bytes.
MAX_FILE_BYTES = 100 * 1024 * 1024
#: Image formats decoded (when this Pillow build has them); others, such as EPS (which would
#: run Ghostscript) or the many rare formats Pillow knows, are refused as unsupported.
FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF", "PPM", "AVIF")
#: Pixels converted to gray at a time (see ``_pil_to_gray``).
TILE_PIXELS = 1 << 20


def read_bytes(path: Union[str, os.PathLike]) -> bytes:
    """Read a file for decoding, with one-line errors for every way that can fail."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError(f"is a directory, not an image: {p}")
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"not a regular file (a FIFO, device or socket): {p}")
        size = st.st_size
        if size == 0:
            raise InputError(f"empty file: {p}")
        if size > MAX_FILE_BYTES:
            raise InputError(f"file too large ({size} bytes > {MAX_FILE_BYTES}): {p}")
        return p.read_bytes()
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"no such file: {p}") from None
    except PermissionError:
        raise InputError(f"permission denied: {p}") from None
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise InputError(f"invalid path {str(p)!r}: {exc}") from None


def _pil_to_gray(img: Image.Image) -> np.ndarray:
    """Convert any PIL mode to uint8 grayscale, scaling high bit depths.

    The conversion runs tile by tile (``TILE_PIXELS`` at a time), so one decode costs its
    decoded pixels and the 8-bit result, plus a few MB: never a whole float copy of the image.
    """
    w, h = img.size
    out = np.empty((h, w), np.uint8)
    convert = _tile_converter(img)
    rows, cols = max(1, TILE_PIXELS // w), min(w, TILE_PIXELS)
    for top in range(0, h, rows):
        for left in range(0, w, cols):
            box = (left, top, min(w, left + cols), min(h, top + rows))
            out[box[1]:box[3], box[0]:box[2]] = convert(img.crop(box))
    return out


def _tile_converter(img: Image.Image) -> Callable[[Image.Image], np.ndarray]:
    """The function that turns one tile of ``img`` into uint8 gray."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        # 16-bit samples: 65535 is white whatever the content; 32-bit samples (unknown
        # range) are taken as 16-bit when they exceed 8 bits
        sixteen = img.mode.startswith("I;16") or img.getextrema()[1] > 255
        return lambda tile: _deep_to_gray(tile, sixteen)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        return _on_white
    return lambda tile: np.asarray(tile.convert("L"), dtype=np.uint8)


def _deep_to_gray(tile: Image.Image, sixteen: bool) -> np.ndarray:
    """A tile of 16- or 32-bit samples as uint8 gray."""
    arr = np.nan_to_num(np.asarray(tile, dtype=np.float64))
    return np.clip(np.round(arr / 257.0 if sixteen else arr), 0, 255).astype(np.uint8)


def _on_white(tile: Image.Image) -> np.ndarray:
    """A tile with transparency as uint8 gray, composited over white."""
    rgba = tile.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("L"), dtype=np.uint8)


@lru_cache(maxsize=None)
def pil_formats() -> Tuple[str, ...]:
    """The entries of ``FORMATS`` this Pillow build can open."""
    Image.init()
    return tuple(f for f in FORMATS if f in Image.OPEN)


def decode_bytes(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes (JPEG, PNG, GIF, BMP, WebP, TIFF, PPM, AVIF) to gray uint8.

    Every failure, whatever Pillow raises for a corrupt file, becomes a one-line ``InputError``;
    Pillow's warnings (e.g. corrupt EXIF in an otherwise good photo) are not printed.
    """
    if not data:
        raise InputError("empty input: 0 bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=pil_formats())
            w, h = img.size
            if w * h > max_pixels:
                raise InputError(f"image too large: {w}x{h} pixels exceeds the limit of {max_pixels}")
            if max(w, h) > MAX_SIDE:
                raise InputError(f"image too long: {w}x{h} pixels, a side may be at most {MAX_SIDE}")
            if w < 1 or h < 1:
                raise InputError(f"image has no pixels: {w}x{h}")
            img.load()
            ImageOps.exif_transpose(img, in_place=True)  # a copy only when the image is to be turned
            return _pil_to_gray(img)
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"not a supported image format (expected {', '.join(pil_formats())})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"image too large (decompression bomb): {exc}") from None
    except MemoryError:
        raise InputError("image too large to decode in memory") from None
    except Exception as exc:  # noqa: BLE001 - Pillow's decoders raise many types on corrupt data
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"corrupt or truncated image: {msg}") from None


def array_to_gray(arr: np.ndarray, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Convert a numpy image (HxW, HxWx1/3/4 BGR(A), any dtype) to gray uint8."""
    if not isinstance(arr, np.ndarray):
        raise InputError(f"expected a numpy array, got {type(arr).__name__}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InputError(f"unsupported array shape {arr.shape}: expected HxW, HxWx3 or HxWx4")
    h, w = arr.shape[:2]
    if h < 1 or w < 1:
        raise InputError(f"image has no pixels: {w}x{h}")
    if h * w > max_pixels:
        raise InputError(f"image too large: {w}x{h} pixels exceeds the limit of {max_pixels}")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype.kind == "c" or arr.dtype.kind not in "uif":
        raise InputError(f"unsupported array dtype {arr.dtype}")
    if arr.dtype != np.uint8:
        a = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        if arr.dtype.kind == "f" and a.size and a.max() <= 1.0 and a.min() >= 0.0:
            a = a * 255.0
        elif arr.dtype.kind in "ui" and arr.dtype.itemsize > 1:
            a = a / 257.0 if a.size and a.max() > 255 else a
        arr = np.clip(a, 0, 255).astype(np.uint8)
    if arr.ndim == 3:  # 0.114 B + 0.587 G + 0.299 R, as OpenCV does for video frames (30x faster than numpy)
        code = cv2.COLOR_BGR2GRAY if arr.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        arr = cv2.cvtColor(np.ascontiguousarray(arr), code)
    return np.ascontiguousarray(arr)


def decode_image(source: ImageSource, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a path, bytes or numpy array to an 8-bit grayscale image."""
    if isinstance(source, np.ndarray):
        return array_to_gray(source, max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return decode_bytes(bytes(source), max_pixels)
    if isinstance(source, (str, os.PathLike)):
        return decode_bytes(read_bytes(source), max_pixels)
    raise InputError(f"unsupported input type {type(source).__name__}: give a path, bytes or a numpy array")
