"""Do the two eyes of a face, compared at the image's own resolution, tell fakes from reals?

For a seeded sample of each source's files: the runtime's largest face and its eye centres, then
each eye cut level (rotated so the eye line is horizontal) as a square of half the eye distance,
at 1 image pixel per patch pixel up to 48 pixels (a larger eye is shrunk to 48). The values, each
an *inconsistency* (higher should mean fake):

* ``1-ncc``: 1 - normalised cross-correlation of the left eye and the right eye as they are
  (a corneal highlight from one light falls on the same side of both pupils);
* ``1-ncc mirrored``: the same with the right eye mirrored (the shape of lids and iris);
* ``highlight``: 1 - IoU of the two eyes' brightest 3% of pixels (Hu et al., ICASSP 2021,
  compare the highlights of the two corneas);
* ``detail``: |log| of the ratio of the two eyes' high-pass energy (Laplacian): one eye
  sharper or more textured than the other;
* ``eye px``: the eye distance in image pixels (a control: resolution, not consistency).

Prints the ROC-AUC of each (fakes positive; a one-class source against the other sources'
other class).

    python research/eye_consistency_probe.py --per-class 250 [--sources mesonet_df dfdc]
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Optional, Tuple

import cv2
import numpy as np

from eyegrad.runtime.detector import Detector
from eyegrad.runtime.features import eye_centers

from probes import DATA, SOURCES, print_auc_table, sample_files

#: Largest patch side in pixels: bigger eyes are shrunk to it.
MAX_PATCH = 48
#: Share of an eye's pixels that count as its highlight.
HIGHLIGHT_SHARE = 0.03


def eye_patches(gray: np.ndarray, left: Tuple[float, float], right: Tuple[float, float]
                ) -> Tuple[np.ndarray, np.ndarray, float]:
    """Both eyes cut level at native scale (at most MAX_PATCH px), float32, and the eye distance."""
    (lx, ly), (rx, ry) = left, right
    distance = math.hypot(rx - lx, ry - ly)
    side = max(8, min(MAX_PATCH, int(round(distance / 2))))
    scale = side / (distance / 2)
    angle = math.degrees(math.atan2(ry - ly, rx - lx))
    patches = []
    for cx, cy in (left, right):
        m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
        m[:, 2] += (side / 2 - cx, side / 2 - cy)
        patches.append(cv2.warpAffine(gray, m, (side, side), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REFLECT_101).astype(np.float32))
    return patches[0], patches[1], distance


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two same-size patches."""
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / max(math.sqrt((a * a).sum() * (b * b).sum()), 1e-6))


def highlight_mask(patch: np.ndarray) -> np.ndarray:
    """The brightest HIGHLIGHT_SHARE of a lightly blurred patch."""
    smooth = cv2.GaussianBlur(patch, (3, 3), 0)
    return smooth >= np.quantile(smooth, 1.0 - HIGHLIGHT_SHARE)


def detail(patch: np.ndarray) -> float:
    """Mean squared Laplacian: high-pass energy."""
    return float((cv2.Laplacian(patch, cv2.CV_32F) ** 2).mean())


def measure(detector: Detector, path: Path) -> Optional[Tuple[float, ...]]:
    """The inconsistencies of one file's largest face, or None without a face."""
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    faces = detector.find_faces(gray)[0] if gray is not None else []
    if not faces:
        return None
    left, right, distance = eye_patches(gray, *eye_centers(faces[0]))
    a, b = highlight_mask(left), highlight_mask(right)
    return (1.0 - ncc(left, right), 1.0 - ncc(left, right[:, ::-1]),
            1.0 - float((a & b).sum() / max((a | b).sum(), 1)),
            abs(math.log((detail(left) + 1e-3) / (detail(right) + 1e-3))), distance)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-class", type=int, default=250, help="files per source and class (seeded sample)")
    p.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    p.add_argument("--data", type=Path, default=DATA, help="the folder that holds the sources")
    args = p.parse_args()
    jobs = sample_files(args.data, args.sources, args.per_class)
    detector = Detector()
    values = [measure(detector, path) for _, _, path in jobs]
    print_auc_table(jobs, values, ("1-ncc", "1-ncc mirrored", "highlight", "detail", "eye px"), args.sources)


if __name__ == "__main__":
    main()
