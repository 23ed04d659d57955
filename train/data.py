"""Labelled samples from dataset roots, and the block split (``--split blocks``).

A dataset root holds real and fake folders (any spelling that ``eyegrad evaluate``
accepts). For the block split, images numbered in sequence (frame dumps like ``mesonet_df``)
are grouped in contiguous blocks of file numbers, and frames sampled from one video share the
video's group; whole groups go to one side, stratified by source and label. The default split
regroups the samples by identity (``groups.py``).
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from eyegrad.runtime.datasets import IMAGE_SUFFIXES, VIDEO_SUFFIXES, labelled_files

SPLIT_NAMES = {"train", "training", "val", "valid", "validation", "test", "testing"}
LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


class Sample(NamedTuple):
    """One training image, or one frame of a video (``frame`` >= 0)."""

    path: Path
    label: int  # 0 real, 1 fake
    source: str
    group: str
    frame: int = -1


def source_name(root: Path) -> str:
    """A dataset's name: its folder, or the parent's when the folder is a split name."""
    root = Path(root).resolve()
    return root.parent.name if root.name.lower() in SPLIT_NAMES else root.name


def group_key(path: Path, source: str, label: int, block: int) -> str:
    """Near-duplicate group: video file, or block of ``block`` consecutive file numbers."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return f"{source}/{label}/video:{path.name}"
    m = LAST_NUMBER.search(path.stem)
    if m is None:
        return f"{source}/{label}/file:{path.name}"
    prefix = path.stem[: m.start()]
    return f"{source}/{label}/{prefix}#{int(m.group(1)) // block}"


def discover(roots: Sequence[Path], block: int = 200) -> List[Tuple[Path, int, str, str]]:
    """(path, label, source, group) for every image and video under the roots."""
    out = []
    for root in roots:
        src = source_name(Path(root))
        for path, label in labelled_files(Path(root), tuple(IMAGE_SUFFIXES | VIDEO_SUFFIXES)):
            out.append((path, label, src, group_key(path, src, label, block)))
    return out


def stable_hash(text: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()


def subdivide(groups: Dict[str, List[Sample]], min_groups: int) -> Dict[str, List[Sample]]:
    """Cut the groups of a stratum into contiguous chunks until there are ``min_groups``.

    A small set numbered 0..199 is one block of 200; it is cut into consecutive runs
    of files so that it can still be split (neighbours stay together). The frames of
    one video are never cut apart.
    """
    total = sum(len(v) for v in groups.values())
    if len(groups) >= min_groups or total < min_groups:
        return groups
    size = max(1, total // min_groups)
    out: Dict[str, List[Sample]] = {}
    for key, members in groups.items():
        if "/video:" in key:
            out[key] = members
            continue
        ordered = sorted(members, key=lambda m: (m.path.name, m.frame))
        for i in range(0, len(ordered), size):
            out[f"{key}/{i // size}"] = ordered[i:i + size]
    return out


def split_groups(samples: Sequence[Sample], val_fraction: float = 0.2, seed: int = 0, min_groups: int = 10
                 ) -> Tuple[List[Sample], List[Sample]]:
    """Train and validation samples; every group lies wholly on one side.

    Within each (source, label) stratum, groups (subdivided to at least ``min_groups``
    contiguous chunks) are taken for validation by ``take_validation``.
    """
    strata: Dict[Tuple[str, int], Dict[str, List[Sample]]] = defaultdict(lambda: defaultdict(list))
    for s in samples:
        strata[(s.source, s.label)][s.group].append(s)
    train: List[Sample] = []
    val: List[Sample] = []
    for stratum in strata.values():
        take_validation(subdivide(stratum, min_groups), val_fraction, seed, train, val)
    return train, val


def take_validation(groups: Dict[str, List[Sample]], val_fraction: float, seed: int,
                    train: List[Sample], val: List[Sample], max_overshoot: Optional[float] = None) -> None:
    """Add whole groups to ``val``, in an order set by a seeded hash of their keys, until
    ``val_fraction`` of their samples is reached, and the rest to ``train`` (one group: train).

    With ``max_overshoot``, a group that would take validation past ``(1 + max_overshoot)``
    times its target goes to training instead (a few large groups cannot swell validation)."""
    total = sum(len(v) for v in groups.values())
    target = val_fraction * total
    taken = 0
    for key in sorted(groups, key=lambda g: stable_hash(g, seed)):
        members = groups[key]
        too_big = max_overshoot is not None and taken + len(members) > (1 + max_overshoot) * target
        if taken < target and len(groups) > 1 and not too_big:
            val.extend(members)
            taken += len(members)
        else:
            train.extend(members)
