"""Does the shipped model read crisp eyes as real? Scores validation images sharpened and blurred.

Diffusion portraits are crisper than real portraits, face swaps blurrier than their videos: a
model that reads "blurry = fake" calls crisp fakes real. For up to ``--per-class`` files per
source and class of the validation split (``groups-v1``, seed 0: people and scenes the shipped
model never trained on), the runtime finds the faces once in the image as stored, then scores
them (two views, int8, as ``Detector`` does) on the image

* ``stored``: as stored;
* ``sharpened``: unsharp mask, amount 1.0, sigma 1.0 px (``train.augment.unsharp``);
* ``blurred``: Gaussian blur, sigma 1.0 px.

Per source and class it prints the mean p_fake and the share called ``fake`` in each case, and
per source the ROC-AUC of the fakes sharpened (or blurred) against the reals as stored: a
source whose fakes are crisper (or softer) than its reals.

    python research/sharpness_probe.py --per-class 200 [--model models/eyegrad.tflite]
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Dict, List

import cv2
import numpy as np

from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.metrics import roc_auc
from eyegrad.train.augment import unsharp
from eyegrad.train.run import load_samples, split_samples
from npr_probe import DATA, SOURCES  # the six roots of ../shared/data, beside this script

PROCESSING: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "stored": lambda g: g,
    "sharpened": lambda g: unsharp(g, 1.0, 1.0),
    "blurred": lambda g: cv2.GaussianBlur(g, (0, 0), 1.0),
}


def validation_files(per_class: int) -> Dict[tuple, List[Path]]:
    """Up to ``per_class`` validation files per (source, label), evenly spaced in the split."""
    samples = load_samples([DATA / r for r in SOURCES.values()], split="groups")
    _, val = split_samples(samples, "groups", 0.2, 0)
    out: Dict[tuple, List[Path]] = {}
    for key in sorted({(s.source, s.label) for s in val}):
        paths = [s.path for s in val if (s.source, s.label) == key]
        out[key] = [paths[i] for i in np.linspace(0, len(paths) - 1, min(per_class, len(paths))).astype(int)]
    return out


def scores(detector: Detector, paths: List[Path]) -> Dict[str, np.ndarray]:
    """p_fake of each file with a face, under each processing (faces found once, as stored)."""
    out: Dict[str, List[float]] = {name: [] for name in PROCESSING}
    for path in paths:
        gray = decode_image(str(path))
        faces, _ = detector.find_faces(gray)
        if not faces:
            continue
        for name, process in PROCESSING.items():
            out[name].append(detector.score_faces(process(gray), faces).p_fake)
    return {name: np.array(v) for name, v in out.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-class", type=int, default=200)
    p.add_argument("--model", default=None, help="a .tflite (default: the shipped model)")
    args = p.parse_args()
    detector = Detector(args.model)
    lo, hi = detector.model.uncertain_band
    files = validation_files(args.per_class)
    by_key = {key: scores(detector, paths) for key, paths in files.items()}
    print(f"band [{lo:.3f}, {hi:.3f}]\n")
    print("| source | class | n | " + " | ".join(f"{n}: mean p_fake / `fake`" for n in PROCESSING) + " |")
    print("|---|---|---|" + "---|" * len(PROCESSING))
    for (source, label), s in by_key.items():
        cells = [f"{s[n].mean():.3f} / {(s[n] > hi).mean():.0%}" for n in PROCESSING]
        print(f"| {source} | {'fake' if label else 'real'} | {len(s['stored'])} | " + " | ".join(cells) + " |")
    print("\n| source | AUC as stored | fakes sharpened vs reals stored | fakes blurred vs reals stored |")
    print("|---|---|---|---|")
    for source in sorted({src for src, _ in by_key}):
        if (source, 0) not in by_key or (source, 1) not in by_key:
            continue
        reals, fakes = by_key[(source, 0)]["stored"], by_key[(source, 1)]
        y = np.r_[np.zeros(len(reals)), np.ones(len(fakes["stored"]))]
        aucs = [roc_auc(y, np.r_[reals, fakes[n]]) for n in PROCESSING]
        print(f"| {source} | " + " | ".join(f"{a:.3f}" for a in aucs) + " |")


if __name__ == "__main__":
    main()
