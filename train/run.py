"""A training run: data -> split -> cached crops -> student (and teacher) -> reports."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.features import FEATURE_VERSION, STUDENT_GEOMETRY, BandGeometry

from .cache import CONTEXT_GEOMETRY, DEFAULT_CACHE, CropSet, build_crops
from .config import RunConfig
from .data import Sample, discover, split_groups
from .groups import VIDEO_SOURCES, identity_groups, split_by_groups

#: The teacher sees the whole cached context: 1.75x the student's band (brows, lids, nose
#: bridge, temples) at the same pixel scale. Warm-started from a student, 8 epochs: MesoNet
#: validation ROC-AUC 0.971 against 0.961 with 1.33x context (research/distillation.md).
TEACHER_GEOMETRY = STUDENT_GEOMETRY.scaled(1.75)
#: The periocular band: both eyes with brows, the skin around them and the upper half of the
#: nose bridge, at the eye band's pixel scale (57.6 px between the eye centres), 0.5 eye
#: distances above the eye line and 0.61 below: it fits inside the cached context (0.73 each way).
PERIOCULAR_GEOMETRY = BandGeometry(height=64, width=144, eye_y=0.45, eye_spacing=0.40)
#: The bands a student can be trained on (``RunConfig.band``).
STUDENT_BANDS = {"eyes": STUDENT_GEOMETRY, "periocular": PERIOCULAR_GEOMETRY}
#: How train and validation are split (``RunConfig.split``), and the version run.json records.
#: Both split the files before faces are found, so a face finder that finds more or fewer faces
#: never moves a file. "blocks" (files-v1): blocks of 200 consecutive file numbers per label,
#: which lets the same people and scenes into both sides. "groups" (groups-v2): the identity
#: groups of ``groups.py`` (pairs, near-duplicates, videos, and in ``mesonet_df`` runs linked into
#: videos by face identity), across labels. "groups-v1": the same without the face-identity
#: links, which models made before them were split with.
SPLIT_VERSIONS = {"blocks": "files-v1", "groups": "groups-v2", "groups-v1": "groups-v1"}
#: The splits that put whole identity groups on one side, and the sources each links into videos.
IDENTITY_SPLITS = {"groups": VIDEO_SOURCES, "groups-v1": frozenset()}


class RunData(NamedTuple):
    train: CropSet
    val: CropSet
    real_only_sources: Tuple[str, ...]
    split: str = "blocks"
    groups: Optional[Dict[str, Dict[str, int]]] = None  # groups split: source -> groups per side


def load_samples(roots: Sequence[Path], limit: Optional[int] = None, seed: int = 0, *, split: str,
                 cache: Path = DEFAULT_CACHE) -> List[Sample]:
    """All samples under the roots, grouped for ``split``; ``limit`` keeps a seeded subset per
    (source, label) before the groups are found (face descriptors are cached under ``cache``)."""
    if split not in SPLIT_VERSIONS:
        raise EyegradError(f"unknown split {split!r}: one of {', '.join(SPLIT_VERSIONS)}")
    samples = [Sample(*d) for d in discover(roots)]
    if limit:
        rng = np.random.default_rng(seed)
        keep = []
        for key in sorted({(s.source, s.label) for s in samples}):
            group = [s for s in samples if (s.source, s.label) == key]
            keep.extend(group[i] for i in sorted(rng.permutation(len(group))[:limit]))
        samples = keep
    if split in IDENTITY_SPLITS:
        return identity_groups(samples, roots, cache, IDENTITY_SPLITS[split])
    return samples


def split_samples(samples: Sequence[Sample], split: str, val_fraction: float = 0.2, seed: int = 0
                  ) -> Tuple[List[Sample], List[Sample]]:
    """Train and validation samples of a ``split`` (samples from ``load_samples`` with that split)."""
    if split in IDENTITY_SPLITS:
        return split_by_groups(samples, val_fraction, seed)
    return split_groups(samples, val_fraction, seed)


def group_counts(train: Sequence[Sample], val: Sequence[Sample]) -> Dict[str, Dict[str, int]]:
    """Per source, how many groups lie on each side."""
    return {src: {"train": len({s.group for s in train if s.source == src}),
                  "val": len({s.group for s in val if s.source == src})}
            for src in sorted({s.source for s in (*train, *val)})}


def eyes_edited(path: str) -> bool:
    """False for ciplab fakes whose code starts with 00 (neither eye was replaced)."""
    stem = Path(path).stem
    code = stem.rsplit("_", 1)[-1]
    return not (len(code) == 4 and code.isdigit() and code.startswith("00"))


def load_crops(samples: Sequence[Sample], cache: Path = DEFAULT_CACHE, workers: int = 0, frames_every: int = 10,
               frames_max: int = 20) -> CropSet:
    """The cached crops of the samples (built where missing)."""
    return build_crops(samples, cache, CONTEXT_GEOMETRY, workers, frames_every, frames_max)


def split_crops(crops: CropSet, samples: Sequence[Sample], val_fraction: float = 0.2, seed: int = 0,
                holdout: Optional[str] = None, sbi_only: bool = False, *, split: str
                ) -> Tuple[RunData, Optional[CropSet]]:
    """Crops split into train/val (and the held-out source's crops for leave-one-out).

    The split is made on the files (``samples``), before faces are found, and each crop goes
    to its file's side: a face finder that finds more or fewer faces never moves it.
    With ``sbi_only`` training keeps only the real crops, and every source makes its fakes by
    self-blending (validation is unchanged)."""
    held = crops.subset(crops.sources == holdout) if holdout else None
    rest = crops.subset(crops.sources != holdout) if holdout else crops
    train_s, val_s = split_samples([s for s in samples if s.source != holdout], split, val_fraction, seed)
    val_paths = {str(s.path) for s in val_s}
    in_val = np.array([p in val_paths for p in rest.paths], bool)
    train = rest.subset(~in_val)
    # fakes whose eyes were not edited teach nothing about eyes: keep them out of training only
    train = train.subset(np.array([y == 0 or eyes_edited(p) for y, p in zip(train.labels, train.paths)], bool))
    if sbi_only:
        train = train.subset(train.labels == 0)
    real_only = tuple(sorted(str(s) for s in set(train.sources) if not (train.labels[train.sources == s] == 1).any()))
    groups = group_counts(train_s, val_s) if split in IDENTITY_SPLITS else None
    return RunData(train, rest.subset(in_val), real_only, split, groups), held


def run_crops(config: RunConfig, workers: Optional[int] = None) -> Tuple[List[Sample], CropSet]:
    """The samples of ``config``'s data and their cached crops, made by ``workers`` processes
    (default: the run's ``workers``)."""
    cache = config.cache or DEFAULT_CACHE
    samples = load_samples(config.data, config.limit, config.seed, split=config.split, cache=cache)
    crops = load_crops(samples, cache, config.workers if workers is None else workers,
                       config.frames_every, config.frames_max)
    return samples, crops


def prepare(config: RunConfig, workers: Optional[int] = None) -> RunData:
    """The crops of ``config``'s data, split into train and validation as it splits them (``split_crops``)."""
    samples, crops = run_crops(config, workers)
    data, _ = split_crops(crops, samples, config.val_fraction, config.seed, sbi_only=config.sbi_only,
                          split=config.split)
    return data


def split_summary(data: RunData) -> Dict:
    """Crops per source and label on each side (and groups, for the groups split), and the split's version."""
    def counts(c: CropSet) -> Dict:
        return {src: {"real": int(((c.sources == src) & (c.labels == 0)).sum()),
                      "fake": int(((c.sources == src) & (c.labels == 1)).sum())} for src in sorted(set(c.sources))}
    summary = {"version": SPLIT_VERSIONS[data.split], "train": counts(data.train), "val": counts(data.val),
               "real_only_sources": list(data.real_only_sources)}
    if data.groups is not None:
        summary["groups"] = data.groups
    return summary


def student_geometry(config: RunConfig) -> BandGeometry:
    """The band ``config``'s student reads (``RunConfig.band``)."""
    if config.band not in STUDENT_BANDS:
        raise EyegradError(f"unknown band {config.band!r}: one of {', '.join(STUDENT_BANDS)}")
    return STUDENT_BANDS[config.band]


def run_metadata(config: RunConfig) -> Dict:
    """The start of a run's run.json: its config (``args``), command, date and band geometries."""
    return {"feature_version": FEATURE_VERSION, "context_geometry": CONTEXT_GEOMETRY.to_dict(),
            "student_geometry": student_geometry(config).to_dict(), "teacher_geometry": TEACHER_GEOMETRY.to_dict(),
            "data": [str(r) for r in config.data], "command": " ".join(["eyegrad"] + sys.argv[1:]),
            "args": config.to_dict(), "date": time.strftime("%Y-%m-%d")}
