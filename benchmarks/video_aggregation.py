"""Which rule turns a video's frame scores into one p_fake: measured on pseudo-videos.

``python -m eyegrad.benchmarks.video_aggregation [--data DIR] [--json OUT]`` scores every
file of the ``mesonet_df`` validation split that the model was trained and chosen with (the
split named in its metadata, seed 0), so none of them was trained on, with the model, cuts
each group of that split (consecutive frames of the same videos) into
pseudo-videos of 10, 25 and 50 frames, and prints, per rule of ``aggregation.AGGREGATIONS``,
the video ROC-AUC, the accuracy at the model's threshold and the share of fake / real videos
whose verdict is ``fake`` / ``real``. Frames without a face are left out, as in a video result.
"""
from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from eyegrad.runtime.aggregation import AGGREGATIONS, aggregate
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.metrics import roc_auc
from eyegrad.runtime.progress import Progress
from eyegrad.train.run import SPLIT_VERSIONS, load_samples, split_samples

from .images import SHARED_DATA

#: Frames per pseudo-video.
LENGTHS = (10, 25, 50)
FILE_NUMBER = re.compile(r"(\d+)\.\w+$")


def model_split(detector: Detector) -> str:
    """The name of the split the detector's model was trained on (``groups`` when unrecorded)."""
    version = ((detector.model.metadata.training or {}).get("split") or {}).get("version")
    return next((name for name, v in SPLIT_VERSIONS.items() if v == version), "groups")


def validation_scores(root: Path, detector: Detector) -> Dict[Tuple[str, int], List[Tuple[int, Optional[float]]]]:
    """(group, label) -> [(file number, p_fake or None)] over the model's validation split of ``root``."""
    split = model_split(detector)
    _, val = split_samples(load_samples([root], split=split), split)
    groups: Dict[Tuple[str, int], List[Tuple[int, Optional[float]]]] = defaultdict(list)
    bar = Progress(len(val), "frames")
    for s in val:
        groups[(s.group, s.label)].append((int(FILE_NUMBER.search(s.path.name).group(1)), detector.detect(str(s.path)).p_fake))
        bar.update()
    bar.close()
    return groups


def pseudo_videos(groups: Dict[Tuple[str, int], List[Tuple[int, Optional[float]]]], length: int
                  ) -> List[Tuple[int, List[float]]]:
    """(label, frame scores) of consecutive runs of ``length`` files, at least half of them with a face."""
    out = []
    for (_, label), frames in groups.items():
        frames = sorted(frames)
        for i in range(0, len(frames) - length + 1, length):
            scores = [p for _, p in frames[i:i + length] if p is not None]
            if len(scores) >= length // 2:
                out.append((label, scores))
    return out


def rule_table(videos: Sequence[Tuple[int, List[float]]], threshold: float, band: Tuple[float, float]) -> Dict:
    """Per rule: AUC, accuracy at ``threshold``, and the share of fakes called fake / reals called real."""
    y = np.array([label for label, _ in videos])
    rows = {}
    for rule in AGGREGATIONS:
        s = np.array([aggregate(scores, rule) for _, scores in videos])
        rows[rule] = {"auc": round(roc_auc(y, s), 4), "accuracy": round(float(((s >= threshold) == y).mean()), 4),
                      "fake_called_fake": round(float((s[y == 1] > band[1]).mean()), 4),
                      "real_called_real": round(float((s[y == 0] < band[0]).mean()), 4)}
    return {"videos": len(videos), "fake": int(y.sum()), "rules": rows}


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eyegrad.benchmarks.video_aggregation",
                                description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=SHARED_DATA / "mesonet_df" / "train")
    p.add_argument("--model", default=None, help="default: the shipped model")
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    args = p.parse_args(argv)
    detector = Detector(args.model, num_threads=1)
    groups = validation_scores(args.data, detector)
    threshold, band = detector.model.threshold, detector.model.video_band
    report = {"data": str(args.data), "model": str(detector.model.path), "threshold": threshold,
              "video_band": list(band), "lengths": {}}
    for length in LENGTHS:
        table = rule_table(pseudo_videos(groups, length), threshold, band)
        report["lengths"][length] = table
        print(f"\n{length} frames per video: {table['videos']} videos ({table['fake']} fake)")
        print("| rule | ROC-AUC | accuracy | fakes called fake | reals called real |\n|---|---|---|---|---|")
        for rule, r in table["rules"].items():
            print(f"| {rule} | {r['auc']:.4f} | {r['accuracy']:.3f} | {r['fake_called_fake']:.3f} | "
                  f"{r['real_called_real']:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
