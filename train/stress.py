"""The stress view of validation: the same files, smaller and re-encoded, scored beside the plain ones.

Each validation image is downscaled by a factor drawn in ``StressRecipe.scale`` (INTER_AREA) and
re-encoded as JPEG at a quality drawn in ``StressRecipe.quality``; the draws are seeded by the
recipe's seed and the file's content, so a file is degraded the same way in every run. The new
bytes then go through the training cache's own face finding and crop (``cache.crops_of_gray``)
and the model sees them as it sees plain validation (``sequence.plain_batch``). A file whose
degraded version has no face counts as the runtime counts it (``eyegrad evaluate``): undecided,
so wrong, and scored 0.5 for the AUC. Crops are cached by (file hash, recipe).
Videos are left out: the degradation is of still images.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

import cv2
import numpy as np
from PIL import Image, ImageOps

from eyegrad.runtime.datasets import VIDEO_SUFFIXES
from eyegrad.runtime.decode import decode_bytes, read_bytes
from eyegrad.runtime.errors import InputError
from eyegrad.runtime.features import BandGeometry

from .cache import (CONTEXT_GEOMETRY, CropSet, _cache_dir, crops_of_gray, file_digest, load_entry, run_parallel,
                    save_entry)
from .reports import per_source
from .sequence import plain_batch
from .tf import keras

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class StressRecipe:
    """How a file is degraded: a downscale factor and a JPEG quality, each drawn per file."""

    scale: Tuple[float, float] = (0.5, 0.75)
    quality: Tuple[int, int] = (50, 70)  # both ends included
    #: Seed of the draws; fixed, not the run's seed, so that a file is degraded alike in every run.
    seed: int = 0

    def draw(self, digest: str) -> Tuple[float, int]:
        """The (scale, quality) of the file with content hash ``digest``."""
        rng = np.random.default_rng(int(hashlib.sha256(f"{self.seed}:{digest}".encode()).hexdigest()[:16], 16))
        return float(rng.uniform(*self.scale)), int(rng.integers(self.quality[0], self.quality[1] + 1))

    def tag(self) -> str:
        """The recipe in a cache folder name."""
        return f"stress-s{self.scale[0]:g}-{self.scale[1]:g}-q{self.quality[0]}-{self.quality[1]}-seed{self.seed}"

    def to_dict(self) -> Dict:
        return {"scale": list(self.scale), "interpolation": "INTER_AREA", "jpeg_quality": list(self.quality),
                "seed": self.seed, "drawn_per": "file content (sha256)"}


class StressedSet(NamedTuple):
    """One entry per validation image: its crop after degradation (zeros where no face was found)."""

    crops: CropSet
    face_found: np.ndarray  # N bool: the degraded image still has a face
    videos_left_out: int


def degrade(data: bytes, scale: float, quality: int) -> bytes:
    """``data`` (an encoded image) upright as the runtime reads it, scaled by ``scale`` with
    INTER_AREA and encoded as JPEG at ``quality``."""
    with Image.open(io.BytesIO(data)) as img:
        img = ImageOps.exif_transpose(img)
        gray = img.mode in ("L", "I;16", "I", "1")
        arr = np.asarray(img.convert("L" if gray else "RGB"))
    h, w = arr.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(arr, size, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", small if gray else cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InputError(f"JPEG encoding failed at quality {quality}")
    return buf.tobytes()


def stressed_crop(data: bytes, digest: str, recipe: StressRecipe, geometry: BandGeometry = CONTEXT_GEOMETRY
                  ) -> Optional[Tuple[np.ndarray, bool]]:
    """The context crop (and whether its eyes were found) of the degraded image, None without a face."""
    try:
        gray = decode_bytes(degrade(data, *recipe.draw(digest)))
    except (InputError, OSError):
        return None
    return crops_of_gray(gray, geometry)


def _work(args) -> Tuple[int, dict]:
    i, path, digest, cache_file, recipe, geometry = args
    got = stressed_crop(read_bytes(path), digest, recipe, geometry)
    shape = (0, geometry.height, geometry.width)
    out = {"crops": got[0][None] if got else np.zeros(shape, np.uint8), "found": np.array([bool(got and got[1])])}
    if cache_file is not None:
        save_entry(cache_file, out)
    return i, out


def stress_validation(val: CropSet, recipe: StressRecipe = StressRecipe(), cache_root: Optional[Path] = None,
                      workers: int = 0, geometry: BandGeometry = CONTEXT_GEOMETRY) -> StressedSet:
    """The stressed crop of every image file of ``val`` (in the order of their first crop),
    cached under ``cache_root`` by (file hash, recipe) when given."""
    start = time.perf_counter()
    first: Dict[str, int] = {}
    for i, p in enumerate(val.paths):
        first.setdefault(str(p), i)
    images = [i for p, i in first.items() if Path(p).suffix.lower() not in VIDEO_SUFFIXES]
    cdir = None if cache_root is None else _cache_dir(Path(cache_root), geometry) / recipe.tag()
    if cdir is not None:
        cdir.mkdir(parents=True, exist_ok=True)
    results: List[Optional[dict]] = [None] * len(images)
    todo = []
    for k, i in enumerate(images):
        path = Path(val.paths[i])
        digest = file_digest(path)
        cache_file = None if cdir is None else cdir / f"{digest}.npz"
        results[k] = None if cache_file is None else load_entry(cache_file)
        if results[k] is None:
            todo.append((k, path, digest, cache_file, recipe, geometry))
    for k, out in run_parallel(_work, todo, workers, "stress view"):
        results[k] = out
    found = np.array([len(r["crops"]) > 0 for r in results], bool)
    crops = np.stack([r["crops"][0] if len(r["crops"]) else np.zeros((geometry.height, geometry.width), np.uint8)
                      for r in results]) if results else np.zeros((0, geometry.height, geometry.width), np.uint8)
    idx = np.array(images, int)
    eyes = np.array([bool(r["found"][0]) for r in results], bool)
    subset = CropSet(crops, val.labels[idx], val.sources[idx], val.groups[idx], eyes, val.paths[idx])
    logger.info("stress view: %d images (%d built, %d faces lost) in %.1f s", len(images), len(todo),
                int((~found).sum()), time.perf_counter() - start)
    return StressedSet(subset, found, len(first) - len(images))


def stress_scores(stressed: StressedSet, model: keras.Model, band: BandGeometry) -> np.ndarray:
    """The model's p_fake of each stressed image, as the plain validation is scored (``loop.fit``);
    0.5 where the degraded image has no face."""
    scores = np.full(len(stressed.face_found), 0.5)
    if stressed.face_found.any():
        x = plain_batch(stressed.crops.subset(stressed.face_found), CONTEXT_GEOMETRY, band)
        scores[stressed.face_found] = model.predict(x, batch_size=256, verbose=0).reshape(-1)
    return scores


def stress_report(stressed: StressedSet, scores: np.ndarray, recipe: StressRecipe) -> Dict:
    """run.json's ``stress`` entry of a model: the recipe, the faces lost per source, and the metrics
    per source (``reports.per_source``) with face-less images undecided (wrong)."""
    crops = stressed.crops
    return {"recipe": recipe.to_dict(), "images": len(crops.labels), "videos_left_out": stressed.videos_left_out,
            "faces_lost": {src: int(((crops.sources == src) & ~stressed.face_found).sum())
                           for src in sorted(set(crops.sources))},
            "metrics": per_source(crops, scores, decided=stressed.face_found)}


def stress_view(val: CropSet, models: Dict[str, Tuple[keras.Model, BandGeometry]], cache_root: Optional[Path],
                workers: int = 0, recipe: StressRecipe = StressRecipe()) -> Dict[str, Dict]:
    """The ``stress`` entry of each model (name -> model and the band it reads) on ``val``'s stressed images."""
    stressed = stress_validation(val, recipe, cache_root, workers)
    return {name: stress_report(stressed, stress_scores(stressed, model, band), recipe)
            for name, (model, band) in models.items()}
