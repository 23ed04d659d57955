"""Accuracy of eyegrad models and of Meso-4 on the same labelled images.

Faces are found once per image (``Detector.find_faces``: they do not depend on the
model); each eyegrad model's Detector then scores them (``Detector.score_faces``) with
its own geometry and threshold. Images with no face count as wrong and score 0.5
(docs/api.md's evaluate rules).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from eyegrad.runtime.boxes import Face
from eyegrad.runtime.decode import decode_image, read_bytes
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.errors import InputError
from eyegrad.runtime.metrics import binary_report
from eyegrad.runtime.progress import Progress

from .images import Labelled


class Item(NamedTuple):
    """One benchmark image: where it is from, its label, its bytes and its faces."""

    path: Path
    set: str
    label: int
    data: bytes
    gray: Optional[np.ndarray]
    faces: Tuple[Face, ...]
    error: Optional[str]


def prepare(subsets: Dict[str, Labelled], detector: Detector) -> List[Item]:
    """Read, decode and find the faces of every image once (with ``detector``; any model will do)."""
    todo = [(name, p, y) for name, files in subsets.items() for p, y in files]
    items = []
    bar = Progress(len(todo), "faces")
    for name, path, y in todo:
        try:
            data = read_bytes(path)
            gray = decode_image(data)
            items.append(Item(path, name, y, data, gray, tuple(detector.find_faces(gray)[0]), None))
        except InputError as exc:
            items.append(Item(path, name, y, b"", None, (), str(exc)))
        bar.update()
    bar.close()
    return items


def eyegrad_scores(detector: Detector, items: Sequence[Item]) -> List[Optional[float]]:
    """Each image's p_fake from the Detector of one eyegrad model (None: no face or unreadable)."""
    return [None if it.gray is None else detector.score_faces(it.gray, it.faces).p_fake for it in items]


def whole_image_scores(predict: Callable[[bytes], float], items: Sequence[Item],
                       label: str = "") -> List[Optional[float]]:
    """p_fake from a whole-image model such as Meso-4 (None when the image is unreadable)."""
    out = []
    bar = Progress(len(items), label)
    for it in items:
        try:
            out.append(None if it.error else float(predict(it.data)))
        except InputError:
            out.append(None)
        bar.update()
    bar.close()
    return out


def _report(labels: Sequence[int], scores: Sequence[Optional[float]], threshold: float) -> Dict:
    decided = [s is not None for s in scores]
    r = binary_report(labels, [0.5 if s is None else s for s in scores], threshold, decided)
    return {k: r[k] for k in ("n", "coverage", "accuracy", "balanced_accuracy", "auc", "confusion")}


def accuracy_report(items: Sequence[Item], scores: Sequence[Optional[float]], threshold: float) -> Dict:
    """Metrics over all images and per set (fake is the positive class)."""
    labels = [it.label for it in items]
    report = _report(labels, scores, threshold)
    groups: Dict[str, Tuple[list, list]] = {}
    for it, s in zip(items, scores):
        ys, ss = groups.setdefault(it.set, ([], []))
        ys.append(it.label)
        ss.append(s)
    report["per_set"] = {name: _report(ys, ss, threshold) for name, (ys, ss) in groups.items()}
    return report
