"""mesonet_df grouped by video: near-duplicate runs linked through face-identity clusters stay on one
side of the split, on the real files (a few hundred consecutive frames per label, cached descriptors)."""
from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest

from eyegrad.train.cache import DEFAULT_CACHE
from eyegrad.train.data import LAST_NUMBER, Sample, discover
from eyegrad.train.groups import identity_groups, split_by_groups
from eyegrad.train.identity import clusters, descriptors

pytest.importorskip("dlib", reason="face-identity groups need dlib-bin (pip install 'eyegrad[train]')")
pytest.importorskip("face_recognition_models", reason="face-identity groups need face-recognition-models "
                                                      "(pip install 'eyegrad[train]')")

#: Frames numbered below this, of each label: consecutive stretches of a few videos.
SUBSET = 400


@pytest.fixture(scope="module")
def root(shared_data: Path) -> Path:
    return shared_data / "mesonet_df" / "train"


@pytest.fixture(scope="module")
def frames(root: Path) -> List[Sample]:
    return [Sample(*d) for d in discover([root]) if int(LAST_NUMBER.search(d[0].stem).group(1)) < SUBSET]


@pytest.fixture(scope="module")
def runs(root: Path, frames: List[Sample]) -> Dict[Path, str]:
    """Each frame's near-duplicate run: its group without the video links."""
    return {s.path: s.group for s in identity_groups(frames, [root], DEFAULT_CACHE, video_sources=())}


def test_runs_that_join_one_identity_cluster_stay_on_one_side(root: Path, frames: List[Sample],
                                                             runs: Dict[Path, str]) -> None:
    videos = identity_groups(frames, [root], DEFAULT_CACHE)
    train, val = split_by_groups(videos, 0.2, seed=0)
    assert train and val
    side = {s.path: "train" for s in train} | {s.path: "val" for s in val}
    paths = sorted(runs)
    votes: Dict[str, Counter] = defaultdict(Counter)
    for path, cluster in zip(paths, clusters(descriptors(paths, DEFAULT_CACHE))):
        votes[runs[path]][int(cluster)] += 1
    sides_of_run: Dict[str, set] = defaultdict(set)
    sides_of_cluster: Dict[int, set] = defaultdict(set)
    for path in paths:
        sides_of_run[runs[path]].add(side[path])
        sides_of_cluster[votes[runs[path]].most_common(1)[0][0]].add(side[path])
    assert all(len(s) == 1 for s in sides_of_run.values())
    assert all(len(s) == 1 for s in sides_of_cluster.values())


def test_identity_clusters_merge_runs_into_fewer_videos(root: Path, frames: List[Sample],
                                                        runs: Dict[Path, str]) -> None:
    videos = identity_groups(frames, [root], DEFAULT_CACHE)
    assert len({s.group for s in videos}) < len(set(runs.values())) / 2
    video_of_run: Dict[str, set] = defaultdict(set)  # every video is a union of whole runs
    for s in videos:
        video_of_run[runs[s.path]].add(s.group)
    assert all(len(v) == 1 for v in video_of_run.values())


def test_descriptors_are_cached_by_file_bytes(frames: List[Sample], tmp_path: Path) -> None:
    first = descriptors([frames[0].path], tmp_path)
    copy = tmp_path / "renamed.jpg"
    shutil.copy(frames[0].path, copy)
    again = descriptors([copy], tmp_path)
    assert first.shape == (1, 128) and not np.isnan(first).any()
    assert np.array_equal(first, again)
    assert len(list((tmp_path / "identity").rglob("*.npy"))) == 1
