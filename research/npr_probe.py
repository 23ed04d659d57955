"""Does a native-grid NPR residual of the eye region tell fakes from reals, per source?

For a sample of each source's files: the runtime's face and eyes, and the student's band
mapped back into the image (its axis-aligned box at native resolution, from an even pixel).
On that region, with no resizing or warp:

* ``npr``: mean |g - up(down(g))|, nearest-neighbour down and up by 2 (NPR, Tan et al. 2024);
* ``npr/shifted``: that, over the same residual on the grid shifted by one pixel. About 1 for
  an image without a 2x2 structure; below 1 where pixels of the image's own 2x2 cells are
  more alike than across them (2x up-sampling, or 8x8 JPEG blocks, whose edges fall between
  the cells of the shifted grid only);
* ``sobel``: mean Sobel magnitude, the sharpness control;
* ``sobel/face``: that over the mean Sobel magnitude of the whole face box: is the eye region
  softer or crisper than the rest of its face (a pasted face generated at a lower resolution)?
* ``chroma``: mean distance of the region's pixels from its mean (Cr, Cb): colour variation.

Prints the ROC-AUC of each (fakes positive; a one-class source against the other sources'
other class). ``--reencode Q`` re-encodes every file as JPEG quality Q first. Each source's
sample is seeded by the source alone, so the same files are measured whatever ``--sources``.

    python research/npr_probe.py --per-class 300 [--reencode 80] [--sources mesonet_df]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
from pathlib import Path
from typing import Optional, Tuple

import cv2
import numpy as np

from eyegrad.runtime.boxes import Box
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.features import STUDENT_GEOMETRY, band_transform, eye_centers

from probes import DATA, SOURCES, print_auc_table, sample_files

_FINDER: Optional[FaceFinder] = None


def npr_residual(gray: np.ndarray, offset: int) -> float:
    """Mean |gray - its nearest-neighbour down-up copy| on the 2x2 grid starting at ``offset``."""
    g = gray[offset:, offset:].astype(np.float32)
    g = g[:g.shape[0] // 2 * 2, :g.shape[1] // 2 * 2]
    return float(np.abs(g - np.repeat(np.repeat(g[::2, ::2], 2, 0), 2, 1)).mean())


def band_box(gray: np.ndarray) -> Optional[Tuple[Box, Box]]:
    """The native-resolution box around the largest face's eye band (from an even pixel) and
    the face box, or None without a face or with a band under 8 pixels."""
    global _FINDER
    _FINDER = _FINDER or FaceFinder()
    faces = _FINDER.find(gray)
    if not faces:
        return None
    inverse = cv2.invertAffineTransform(band_transform(*eye_centers(faces[0]), STUDENT_GEOMETRY))
    h, w = STUDENT_GEOMETRY.height, STUDENT_GEOMETRY.width
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ inverse.T
    x0, y0 = (max(0, int(v) // 2 * 2) for v in np.floor(corners.min(0)))
    x1, y1 = np.ceil(corners.max(0)).astype(int)
    band = Box(x0, y0, min(x1, gray.shape[1]) - x0, min(y1, gray.shape[0]) - y0)
    return (band, faces[0].box) if min(band.w, band.h) >= 8 else None


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    """The pixels of ``box`` (clipped to the image)."""
    return image[max(box.y, 0):box.y + box.h, max(box.x, 0):box.x + box.w]


def sobel_magnitude(gray: np.ndarray) -> float:
    """Mean Sobel gradient magnitude."""
    gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    return float(np.sqrt(gx * gx + gy * gy).mean())


def measure(job: Tuple[Path, int]) -> Optional[Tuple[float, ...]]:
    """(npr, npr/shifted, sobel, sobel/face, chroma) of one file, re-encoded at ``quality`` if given."""
    path, quality = job
    bgr = cv2.imread(str(path))
    if bgr is None:
        return None
    if quality:
        bgr = cv2.imdecode(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    boxes = band_box(gray)
    if boxes is None:
        return None
    band, face = boxes
    region = crop(gray, band)
    chroma = crop(cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb), band)[:, :, 1:].reshape(-1, 2).astype(np.float32)
    on_grid, sharpness = npr_residual(region, 0), sobel_magnitude(region)
    return (on_grid, on_grid / max(npr_residual(region, 1), 1e-6), sharpness,
            sharpness / max(sobel_magnitude(crop(gray, face)), 1e-6),
            float(np.linalg.norm(chroma - chroma.mean(0), axis=1).mean()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-class", type=int, default=300, help="files per source and class (seeded sample)")
    p.add_argument("--reencode", type=int, default=0, metavar="Q", help="re-encode every file at JPEG quality Q")
    p.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    p.add_argument("--data", type=Path, default=DATA, help="the folder that holds the sources")
    args = p.parse_args()
    jobs = sample_files(args.data, args.sources, args.per_class)
    with mp.Pool(2) as pool:
        values = pool.map(measure, [(path, args.reencode) for _, _, path in jobs], chunksize=16)
    print_auc_table(jobs, values, ("npr", "npr/shifted", "sobel", "sobel/face", "chroma"), args.sources, median_of=1)


if __name__ == "__main__":
    main()
