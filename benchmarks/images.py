"""The images benchmarks run on: a fixed labelled subset of ../shared/data and camera-like frames.

The subset is deterministic: for each set and class, the files sorted by name and
``per_class`` of them taken at evenly spaced positions (so consecutive video frames
of ``mesonet_df`` are not all from one clip). The same files on every machine.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from eyegrad.runtime.datasets import IMAGE_SUFFIXES, class_dirs, iter_files
from eyegrad.runtime.errors import EyegradError

REPO = Path(__file__).resolve().parent.parent
#: ../shared/data beside the repository.
SHARED_DATA = REPO.parent / "shared" / "data"
#: The four bundled sample faces (two real, two fake) used by ``--quick``: examples/ of a checkout,
#: eyegrad/examples/ of an installed wheel.
EXAMPLES = REPO / "examples"
#: The labelled sets of the default validation subset (paths under the data root).
BENCH_SETS = ("mesonet_df/train", "ciplab/train", "stylegan_ffhq")
#: Sets whose coverage the face finder is measured on (utkface has real images only).
COVERAGE_SETS = ("mesonet_df/train", "ciplab/train", "stylegan_ffhq", "utkface")

Labelled = List[Tuple[Path, int]]


def spaced(items: Sequence, n: int, offset: float = 0.0) -> list:
    """``n`` items at evenly spaced positions (shifted by ``offset`` of a step), in order."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step + offset * step)] for i in range(n)]


def set_subset(root: Path, n: int, offset: float = 0.0) -> Labelled:
    """(path, label) pairs: ``n`` images of one set, split evenly over its real (0) and fake (1) folders."""
    folders = [(f, label) for f, label in zip(class_dirs(root), (0, 1)) if f is not None]
    out: Labelled = []
    for folder, label in folders:
        files = list(iter_files(folder, IMAGE_SUFFIXES))
        out.extend((p, label) for p in spaced(files, n // len(folders), offset))
    return out


def validation_subset(data_root: Path = SHARED_DATA, per_set: int = 200, sets: Sequence[str] = BENCH_SETS,
                      offset: float = 0.0) -> Dict[str, Labelled]:
    """Per set, ``per_set`` images balanced real/fake (the sets that are present)."""
    return {name: set_subset(data_root / name, per_set, offset)
            for name in sets if (data_root / name).is_dir()}


def sample_files() -> Labelled:
    """The bundled examples with their labels (from the file name)."""
    files = sorted(EXAMPLES.glob("*.jpg"))
    if not files:
        raise EyegradError(f"the bundled example images are missing: no *.jpg in {EXAMPLES}")
    return [(p, int(p.name.startswith("fake"))) for p in files]


def camera_frame(face_bgr: np.ndarray, size: Tuple[int, int] = (640, 480), face_height: int = 240,
                 seed: int = 0) -> np.ndarray:
    """A camera-like BGR frame: a face image scaled to ``face_height`` on a muted, textured background
    with sensor noise (the face's top third, centred horizontally)."""
    w, h = size
    rng = np.random.default_rng(seed)
    blobs = rng.integers(40, 220, (h // 32 + 1, w // 32 + 1, 3), dtype=np.uint8)
    back = cv2.resize(blobs, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    back = 0.5 * back + 0.5 * back.mean(axis=2, keepdims=True) + rng.normal(0, 3, (h, w, 3))
    frame = np.clip(back, 0, 255).astype(np.uint8)
    fh, fw = face_bgr.shape[:2]
    s = min(face_height / fh, (w - 20) / fw)
    face = cv2.resize(face_bgr, (max(1, round(fw * s)), max(1, round(fh * s))), interpolation=cv2.INTER_AREA)
    y, x = (h - face.shape[0]) // 3, (w - face.shape[1]) // 2
    frame[y: y + face.shape[0], x: x + face.shape[1]] = face
    return frame
