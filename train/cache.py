"""On-disk cache of context crops around the eyes, built in parallel processes.

For every image (or sampled video frame) the runtime's own code finds the largest
face and its eyes and cuts a *context band*: the student's eye band with extra margin,
at the same pixel scale (``eyegrad.runtime.features.align_band``). Augmentation later cuts
the student's and teacher's bands out of it. Entries are keyed by the crop version (CACHE_VERSION),
the context geometry and the file's content hash, so re-runs skip what is cached.
The stress view of validation (``stress.py``) keeps its crops in a folder of the same cache,
keyed by the file's hash and the degradation recipe.
"""
from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
from pathlib import Path
from typing import Callable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, TypeVar

import numpy as np

from eyegrad.runtime.datasets import VIDEO_SUFFIXES
from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.errors import InputError
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.features import STUDENT_GEOMETRY, BandGeometry, align_band, eye_centers
from eyegrad.runtime.progress import Progress

from .data import Sample
from .video import sample_frames

#: The cached band: the student's band with 1.75x the context, at the supersampled pixel
#: scale the features are computed at (168 x 448).
CONTEXT_GEOMETRY = STUDENT_GEOMETRY.scaled(1.75).supersampled()
#: Version of the cached crops (face finding and band alignment); bump it when they change.
#: The gradient features are computed from the crops at training time, so the feature
#: version is not part of the key.
CACHE_VERSION = "crops-v5"
DEFAULT_CACHE = Path(os.environ.get("EYEGRAD_CACHE", Path.home() / ".cache" / "eyegrad"))
T = TypeVar("T")


class CropSet(NamedTuple):
    """Context crops with their labels, sources, split groups and whether their eyes were found."""

    crops: np.ndarray  # N x H x W uint8
    labels: np.ndarray  # N int
    sources: np.ndarray  # N str
    groups: np.ndarray  # N str
    eyes_found: np.ndarray  # N bool: eyes found (landmark model or eye cascade), not placed by geometry
    paths: np.ndarray  # N str

    def subset(self, mask: np.ndarray) -> "CropSet":
        return CropSet(*(a[mask] for a in self))


def _cache_dir(root: Path, geometry: BandGeometry) -> Path:
    tag = f"{CACHE_VERSION}-{geometry.height}x{geometry.width}-{geometry.eye_spacing:.4f}"
    return root / "crops" / tag


_FINDER: Optional[FaceFinder] = None


def _finder() -> FaceFinder:
    global _FINDER
    if _FINDER is None:
        _FINDER = FaceFinder()
    return _FINDER


def crops_of_gray(gray: np.ndarray, geometry: BandGeometry) -> Optional[Tuple[np.ndarray, bool]]:
    """The context crop of the largest face and whether its eyes were found (not placed by geometry)."""
    faces = _finder().find(gray)
    if not faces:
        return None
    face = faces[0]
    return align_band(gray, *eye_centers(face), geometry), face.eyes_found


def extract_file(path: Path, geometry: BandGeometry, every: int, max_frames: int) -> dict:
    """Crops for one image, or for the sampled frames of one video."""
    crops, found, frames = [], [], []
    if path.suffix.lower() in VIDEO_SUFFIXES:
        grays = list(sample_frames(path, every, max_frames))
    else:
        try:
            grays = [(-1, decode_image(path))]
        except InputError:
            grays = []
    for frame, gray in grays:
        got = crops_of_gray(gray, geometry)
        if got is not None:
            crops.append(got[0])
            found.append(got[1])
            frames.append(frame)
    shape = (0, geometry.height, geometry.width)
    return {"crops": np.stack(crops) if crops else np.zeros(shape, np.uint8),
            "found": np.array(found, bool), "frames": np.array(frames, int)}


def save_entry(cache_file: Path, entry: dict) -> None:
    """Write a cache entry (arrays by name) so that a reader never sees half of it."""
    tmp = cache_file.with_suffix(".tmp.npz")
    np.savez(tmp, **entry)
    os.replace(tmp, cache_file)


def load_entry(cache_file: Path) -> Optional[dict]:
    """The arrays of a cache entry, or None when it is missing or corrupt (to be rebuilt)."""
    if not cache_file.exists():
        return None
    try:
        with np.load(cache_file) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError):
        return None


def run_parallel(work: Callable[[T], Tuple[int, dict]], todo: Sequence[T], workers: int, label: str
                 ) -> Iterator[Tuple[int, dict]]:
    """``work(item)`` for every item of ``todo``, in ``workers`` forked processes (0: one per
    core), in the order they finish, with a progress bar named ``label``."""
    if not todo:
        return
    bar = Progress(len(todo), label)
    workers = workers or max(1, os.cpu_count() or 1)
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            for got in pool.imap_unordered(work, todo, chunksize=16):
                yield got
                bar.update()
    else:
        for item in todo:
            yield work(item)
            bar.update()
    bar.close()


def _work(args) -> Tuple[int, dict]:
    i, path, cache_file, geometry, every, max_frames = args
    out = extract_file(path, geometry, every, max_frames)
    save_entry(cache_file, out)
    return i, out


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_crops(samples: Sequence[Sample], cache_root: Path = DEFAULT_CACHE,
                geometry: BandGeometry = CONTEXT_GEOMETRY, workers: int = 0,
                every: int = 10, max_frames: int = 20) -> CropSet:
    """Context crops for every sample (cached on disk; missing ones built in parallel)."""
    cdir = _cache_dir(Path(cache_root), geometry)
    cdir.mkdir(parents=True, exist_ok=True)
    results: List[Optional[dict]] = [None] * len(samples)
    todo = []
    for i, s in enumerate(samples):
        cache_file = cdir / f"{file_digest(s.path)}.npz"
        results[i] = load_entry(cache_file)
        if results[i] is None:
            todo.append((i, s.path, cache_file, geometry, every, max_frames))
    for i, out in run_parallel(_work, todo, workers, "features"):
        results[i] = out
    crops, labels, sources, groups, found, paths = [], [], [], [], [], []
    for s, r in zip(samples, results):
        for crop, eyes_found in zip(r["crops"], r["found"]):
            crops.append(crop)
            labels.append(s.label)
            sources.append(s.source)
            groups.append(s.group)
            found.append(bool(eyes_found))
            paths.append(str(s.path))
    shape = (0, geometry.height, geometry.width)
    return CropSet(np.stack(crops) if crops else np.zeros(shape, np.uint8), np.array(labels, int),
                   np.array(sources), np.array(groups), np.array(found, bool), np.array(paths))
