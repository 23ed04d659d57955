"""Near-duplicate runs against videos: how ``mesonet_df`` groups with and without face-identity links.

``python research/video_groups.py --data ../shared/data/mesonet_df/train [--sheet OUT.png]``
groups the files both ways (``groups.identity_groups`` with and without the source in
``video_sources``), prints the groups' sizes and, for the groups split (seed 0, 20% validation),
the share of validation files with a training file whose thumbnail is at least 0.90 / 0.95 alike
(``validation_report.leak_rates``) or whose face descriptor is within ``SAME_FACE`` (the same
person, ``identity.py``); ``--sheet`` draws a few frames of ``SHEET_GROUPS`` random video groups,
one row each, to check the links by eye (red border: fake).
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from eyegrad.train.cache import DEFAULT_CACHE
from eyegrad.train.data import Sample, discover, source_name
from eyegrad.train.groups import identity_groups, split_by_groups, thumbnail
from eyegrad.train.identity import descriptors
from eyegrad.train.validation_report import leak_rates

#: A validation face this close (euclidean) to a training face is the same person at near the same pose.
SAME_FACE = 0.35
SHEET_GROUPS = 8
SHEET_FRAMES = 8
TILE = 96


def sizes(samples: Sequence[Sample]) -> Dict[str, float]:
    """Number of groups, files per group (min / median / max), largest group's share, groups with both labels."""
    members: Dict[str, List[Sample]] = defaultdict(list)
    for s in samples:
        members[s.group].append(s)
    n = np.array([len(m) for m in members.values()])
    return {"groups": len(n), "min": int(n.min()), "median": float(np.median(n)), "max": int(n.max()),
            "largest_share": round(float(n.max() / n.sum()), 3),
            "both_labels": sum(len({s.label for s in m}) == 2 for m in members.values())}


def face_leak(train: Sequence[Sample], val: Sequence[Sample], faces: Dict[Path, np.ndarray]) -> float:
    """Share of validation files with a training face within ``SAME_FACE``."""
    pool = np.stack([faces[s.path] for s in train])
    near = [float(np.sqrt(((pool - faces[s.path]) ** 2).sum(axis=1)).min()) <= SAME_FACE for s in val]
    return round(float(np.mean(near)), 4)


def sheet(samples: Sequence[Sample], out: Path, seed: int = 0) -> None:
    """A contact sheet: ``SHEET_FRAMES`` frames spread over each of ``SHEET_GROUPS`` random groups."""
    members: Dict[str, List[Sample]] = defaultdict(list)
    for s in samples:
        members[s.group].append(s)
    keys = sorted(k for k, m in members.items() if len(m) >= SHEET_FRAMES)
    rng = np.random.default_rng(seed)
    rows = []
    for key in rng.choice(keys, min(SHEET_GROUPS, len(keys)), replace=False):
        ordered = sorted(members[key], key=lambda s: (s.label, s.path.name))
        picks = [ordered[int(i)] for i in np.linspace(0, len(ordered) - 1, SHEET_FRAMES)]
        tiles = []
        for s in picks:
            tile = cv2.resize(cv2.imread(str(s.path)), (TILE - 4, TILE - 4), interpolation=cv2.INTER_AREA)
            tiles.append(cv2.copyMakeBorder(tile, 2, 2, 2, 2, cv2.BORDER_CONSTANT,
                                            value=(0, 0, 255) if s.label else (255, 255, 255)))
        caption = np.zeros((16, TILE * SHEET_FRAMES, 3), np.uint8)
        cv2.putText(caption, f"{key}  ({len(members[key])} files)", (4, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1)
        rows += [caption, np.hstack(tiles)]
    cv2.imwrite(str(out), np.vstack(rows))


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, metavar="ROOT")
    p.add_argument("--sheet", type=Path, default=None, metavar="OUT.png")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = p.parse_args(argv)
    root = args.data.resolve()
    samples = [Sample(*d) for d in discover([root])]
    start = time.time()
    faces = dict(zip((s.path for s in samples), descriptors([s.path for s in samples], args.cache)))
    print(f"face descriptors of {len(samples)} files: {time.time() - start:.0f} s")
    thumbs = {s.path: v for s in samples if (v := thumbnail(s.path)) is not None}
    videos = identity_groups(samples, [root], args.cache)
    print("| grouping | groups | files per group min / median / max | largest | groups with both labels | "
          "groups train / val | val files leaked (>= 0.90) | (>= 0.95) | val files with a training face "
          f"<= {SAME_FACE} |\n|---|---|---|---|---|---|---|---|---|")
    for name, grouped in (("runs (groups-v1)", identity_groups(samples, [root], args.cache, video_sources=())),
                          ("videos (groups-v2)", videos)):
        train, val = split_by_groups(grouped, 0.2, seed=0)
        z, leak = sizes(grouped), leak_rates(train, val, thumbs)
        print(f"| {name} | {z['groups']} | {z['min']} / {z['median']:g} / {z['max']} | {z['largest_share']:.1%} | "
              f"{z['both_labels']} | {len({s.group for s in train})} / {len({s.group for s in val})} | "
              f"{leak['leak_0.90']:.3f} | {leak['leak_0.95']:.3f} | {face_leak(train, val, faces):.3f} |")
    if args.sheet:
        sheet(videos, args.sheet)
        print(f"contact sheet of {source_name(root)} video groups: {args.sheet}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
