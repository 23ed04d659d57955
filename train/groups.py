"""Who is who: groups of files that show the same person or scene, kept on one side of a split.

A validation file whose person or scene is also in training over-states accuracy (frames of
one video, a fake and the real video it was made from). Within each source, files are linked
into one group when

- they are a fake and its original, by the source's ``pairs.csv`` (columns ``fake,original``:
  the file names of a fake and of a real image or video, as in ``dfdc``);
- they are near-duplicates: their ``THUMB`` x ``THUMB`` gray thumbnails, each less its mean
  and scaled to unit length, have a cosine similarity of at least ``DUPLICATE_COSINE``;
- they are consecutive frames: the same label and file name but for a number one apart
  (``frame_0041.jpg``, ``frame_0042.jpg``), with thumbnails at least ``FRAME_COSINE`` alike
  (a cut to another scene breaks the chain);

and a group is every file linked to another, directly or through others, across labels. The
frames of one video file are one group. In a source of ``VIDEO_SOURCES`` (frame dumps of a few
videos, aligned face crops) these groups are only runs of one video; each run then joins the
face-identity clusters (``identity.py``) that most of its frames, or ``JOIN_SHARE`` of them, fall
in, and the runs that join one cluster, real or fake, are one video. ``split_by_groups`` then
puts whole groups on one side.
"""
from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path
from typing import Collection, Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from eyegrad.runtime.datasets import VIDEO_SUFFIXES
from eyegrad.runtime.progress import Progress

from .cache import DEFAULT_CACHE
from .data import LAST_NUMBER, Sample, source_name, take_validation
from .identity import clusters, descriptors

#: Side of the gray thumbnail that near-duplicates are found by.
THUMB = 24
#: Thumbnails at least this similar show the same person or scene; consecutive frames at least
#: ``FRAME_COSINE`` alike continue one scene. On ``mesonet_df`` these leave 2.3% of validation
#: files with a training file at least 0.90 alike (blocks of file numbers: 10.3%) while the
#: largest group stays at 12% of the files; looser settings chain most of the set into one
#: group (research/validation.md).
DUPLICATE_COSINE = 0.92
FRAME_COSINE = 0.6
#: Sources whose near-duplicate runs are linked into videos by face identity. In ``mesonet_df``
#: runs alone left other stretches of one video on both sides (research/validation.md).
VIDEO_SOURCES = frozenset({"mesonet_df"})
#: A run joins every identity cluster that holds at least this share of its frames (and always the
#: one that holds most): a leak needs only one stretch of a video on each side, so err towards merging.
JOIN_SHARE = 1 / 3
#: A group that would push a source's validation more than this share over its target stays in training.
MAX_OVERSHOOT = 0.2
#: Rows of the similarity matrix computed at once (memory: this many x all files, float32).
BLOCK = 2048


def thumbnail(path: Path) -> Optional[np.ndarray]:
    """The file's normalised gray thumbnail (``THUMB``**2 values, zero mean, unit length), or None."""
    gray = cv2.imread(str(path), cv2.IMREAD_REDUCED_GRAYSCALE_2)
    if gray is None or gray.size == 0:
        return None
    v = cv2.resize(gray, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    v -= v.mean()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else None


class UnionFind:
    """Disjoint sets over 0..n-1."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return int(i)

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[a] = b


def near_duplicate_pairs(vectors: np.ndarray, threshold: float = DUPLICATE_COSINE) -> Iterable[Tuple[int, int]]:
    """Index pairs (i < j) of rows whose cosine similarity is at least ``threshold``."""
    for start in range(0, len(vectors), BLOCK):
        sim = vectors[start:start + BLOCK] @ vectors.T
        for i, j in zip(*np.nonzero(sim >= threshold)):
            if start + i < j:
                yield int(start + i), int(j)


def consecutive_frames(files: Sequence[Path]) -> Iterable[Tuple[int, int]]:
    """Index pairs of files in one folder whose names differ only by a last number one apart."""
    numbered = {}
    for i, p in enumerate(files):
        m = LAST_NUMBER.search(p.stem)
        if m is not None:
            numbered[(p.parent, p.stem[:m.start()], p.stem[m.end():], int(m.group(1)))] = i
    for (folder, head, tail, n), i in numbered.items():
        j = numbered.get((folder, head, tail, n + 1))
        if j is not None:
            yield i, j


def most_similar(queries: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """For each query row, its highest cosine similarity to any row of ``pool`` (-1 for an empty pool)."""
    if len(pool) == 0:
        return np.full(len(queries), -1.0, np.float32)
    return np.concatenate([(queries[s:s + BLOCK] @ pool.T).max(axis=1) for s in range(0, len(queries), BLOCK)])


def pairs_of(root: Path) -> List[Tuple[str, str]]:
    """(fake, original) file names from ``root``/pairs.csv, or none."""
    path = Path(root) / "pairs.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [(row["fake"], row["original"]) for row in csv.DictReader(f) if row.get("fake") and row.get("original")]


def same_video(runs: UnionFind, items: Sequence[int], cluster: Sequence[int]) -> List[Tuple[int, int]]:
    """Pairs of runs (their root items) that join one identity cluster. A run joins the cluster
    most of its ``items`` fall in and any other that holds at least ``JOIN_SHARE`` of them
    (``cluster[k]`` is the cluster of ``items[k]``; -1: none)."""
    votes: Dict[int, Counter] = defaultdict(Counter)
    for i, c in zip(items, cluster):
        if c >= 0:
            votes[runs.find(i)][int(c)] += 1
    first: Dict[int, int] = {}
    pairs = []
    for run, counts in votes.items():
        top = counts.most_common(1)[0][0]
        share = JOIN_SHARE * sum(counts.values())
        for joined in sorted({top} | {c for c, n in counts.items() if n >= share}):
            if joined in first:
                pairs.append((first[joined], run))
            else:
                first[joined] = run
    return pairs


def identity_groups(samples: Sequence[Sample], roots: Sequence[Path], cache: Path = DEFAULT_CACHE,
                    video_sources: Collection[str] = VIDEO_SOURCES) -> List[Sample]:
    """``samples`` with their ``group`` replaced by the identity group of this module's rules; runs
    of the ``video_sources`` are linked into videos (face descriptors are cached under ``cache``).

    A group is named by its first file (path relative to its source's root), so adding or
    removing other files leaves the names, and so the split, of untouched groups as they were.
    """
    pairs = {source_name(root): pairs_of(root) for root in roots}
    out: List[Sample] = []
    by_source: Dict[str, List[Sample]] = defaultdict(list)
    for s in samples:
        by_source[s.source].append(s)
    for source, members in sorted(by_source.items()):
        out.extend(_grouped(source, members, pairs.get(source, []), cache if source in video_sources else None))
    return out


def _grouped(source: str, members: List[Sample], pairs: Sequence[Tuple[str, str]], cache: Optional[Path]
             ) -> List[Sample]:
    """One source's samples, re-keyed by their linked component (runs linked into videos with
    face descriptors cached under ``cache``; None: no video links)."""
    files = sorted({s.path for s in members})
    index = {p: i for i, p in enumerate(files)}
    label = {s.path: s.label for s in members}
    links = UnionFind(len(files))
    by_label_and_name = {(label[p], p.name): i for p, i in index.items()}
    for fake, original in pairs:
        a, b = by_label_and_name.get((1, fake)), by_label_and_name.get((0, original))
        if a is not None and b is not None:
            links.union(a, b)
    images = [i for i, p in enumerate(files) if p.suffix.lower() not in VIDEO_SUFFIXES]
    bar = Progress(len(images), f"groups {source}")
    vectors, rows = [], []
    for i in images:
        v = thumbnail(files[i])
        if v is not None:
            vectors.append(v)
            rows.append(i)
        bar.update()
    bar.close()
    if vectors:
        matrix = np.stack(vectors)
        for a, b in near_duplicate_pairs(matrix):
            links.union(rows[a], rows[b])
        at = {i: r for r, i in enumerate(rows)}
        for i, j in consecutive_frames(files):
            if i in at and j in at and label[files[i]] == label[files[j]] \
                    and float(matrix[at[i]] @ matrix[at[j]]) >= FRAME_COSINE:
                links.union(i, j)
    if cache is not None and images:
        for a, b in same_video(links, images, clusters(descriptors([files[i] for i in images], cache))):
            links.union(a, b)
    name = {}
    for i, p in enumerate(files):  # files are sorted: the first file of each component names it
        name.setdefault(links.find(i), f"{p.parent.name}/{p.name}")
    return [s._replace(group=f"{source}/id:{name[links.find(index[s.path])]}") for s in members]


def split_by_groups(samples: Sequence[Sample], val_fraction: float = 0.2, seed: int = 0
                    ) -> Tuple[List[Sample], List[Sample]]:
    """Train and validation samples; every group lies wholly on one side.

    Groups may hold both labels (a fake and its original), so each source is one stratum:
    its groups are taken for validation by ``data.take_validation``, none that would take
    validation past ``MAX_OVERSHOOT`` over its share.
    """
    by_source: Dict[str, Dict[str, List[Sample]]] = defaultdict(lambda: defaultdict(list))
    for s in samples:
        by_source[s.source][s.group].append(s)
    train: List[Sample] = []
    val: List[Sample] = []
    for groups in by_source.values():
        take_validation(groups, val_fraction, seed, train, val, max_overshoot=MAX_OVERSHOOT)
    return train, val
