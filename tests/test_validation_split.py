"""The groups split keeps a person or scene on one side: dfdc pairs, mesonet near-duplicates and
consecutive frames, on the real files; and old runs keep their block split."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from conftest import EXAMPLES
from eyegrad.train.config import load_run
from eyegrad.train.data import Sample, discover
from eyegrad.train.groups import DUPLICATE_COSINE, consecutive_frames, identity_groups, most_similar, pairs_of, thumbnail
from eyegrad.train.run import group_counts, load_samples, split_samples
from eyegrad.train.validation_report import report


def sides(samples):
    train, val = split_samples(samples, "groups", 0.2, seed=0)
    return train, val, {s.path: "val" for s in val} | {s.path: "train" for s in train}


def test_dfdc_fakes_stay_with_the_real_video_they_were_made_from(shared_data: Path) -> None:
    root = shared_data / "dfdc"
    train, val, side = sides(load_samples([root], split="groups"))
    pairs = pairs_of(root)
    assert len(pairs) >= 1000 and val and train
    by_name = {p.name: s for p, s in side.items()}
    assert all(by_name[fake] == by_name[original] for fake, original in pairs)
    assert len({s.label for s in val}) == 2  # groups hold both labels, and both reach validation


def test_no_mesonet_validation_frame_has_a_near_duplicate_in_training(shared_data: Path) -> None:
    train, val, _ = sides(load_samples([shared_data / "mesonet_df" / "train"], split="groups"))
    vectors = {s.path: thumbnail(s.path) for s in (*train, *val)}
    best = most_similar(np.stack([vectors[s.path] for s in val]), np.stack([vectors[s.path] for s in train]))
    assert best.max() < DUPLICATE_COSINE
    assert {s.group for s in train}.isdisjoint({s.group for s in val})
    counts = group_counts(train, val)["mesonet_df"]
    assert counts["val"] >= 100 and counts["train"] > 2 * counts["val"]  # many people, most of them in training
    assert 0.15 <= len(val) / (len(train) + len(val)) <= 0.25


def test_the_groups_split_leaks_less_than_the_block_split(shared_data: Path) -> None:
    table = report([shared_data / "mesonet_df" / "train", shared_data / "dfdc"])
    blocks, groups = table["blocks"], table["groups"]
    assert groups["mesonet_df"]["leak_0.95"] == 0.0 < blocks["mesonet_df"]["leak_0.95"]
    assert groups["mesonet_df"]["leak_0.90"] < blocks["mesonet_df"]["leak_0.90"] / 2
    assert groups["dfdc"]["pairs_cut"] == 0 < blocks["dfdc"]["pairs_cut"]


def _frames(folder: Path, names_and_images) -> None:
    folder.mkdir(parents=True)
    for name, image in names_and_images:
        cv2.imwrite(str(folder / name), image)


def test_consecutive_frames_of_one_scene_are_one_group_and_a_cut_starts_another(tmp_path: Path) -> None:
    faces = [cv2.imread(str(p)) for p in sorted(EXAMPLES.glob("*.jpg"))]
    scene_a = [np.roll(faces[0], 4 * i, axis=1) for i in range(4)]  # a slow pan: alike frame to frame
    scene_b = [np.roll(cv2.flip(faces[2], 0), 4 * i, axis=0) for i in range(4)]  # after a cut
    frames = scene_a + scene_b
    _frames(tmp_path / "clips" / "real", [(f"frame{i:04d}.png", f) for i, f in enumerate(frames)])
    samples = identity_groups([Sample(*d) for d in discover([tmp_path / "clips"])], [tmp_path / "clips"])
    by_number = {int(s.path.stem[5:]): s.group for s in sorted(samples)}
    assert len({by_number[i] for i in range(4)}) == 1 and len({by_number[i] for i in range(4, 8)}) == 1
    assert by_number[0] != by_number[4]
    assert list(consecutive_frames([Path("a/x7.jpg"), Path("a/x8.jpg"), Path("b/x9.jpg")])) == [(0, 1)]


def test_old_runs_keep_their_block_split_and_new_runs_split_by_groups(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"args": {"data": ["d/a"], "epochs": 3}}))
    assert load_run(tmp_path).config.split == "blocks"
    from eyegrad.cli import build_parser
    from eyegrad.train.config import RunConfig

    assert RunConfig.from_args(build_parser("train").parse_args(["train", "--data", "d/a"])).split == "groups"
