"""How the p_fake of a face's frames in a video becomes one p_fake.

The default, a mean without the highest and lowest tenth, was chosen on validation
(docs/video.md): it separates videos as well as the plain mean and lets one misplaced frame
(an eye put on an eyebrow) move the verdict less. Rules that look at the highest frames
only (top quarter, max) call many real videos fake.
"""
from __future__ import annotations

from typing import Callable, Dict, Sequence

import numpy as np

#: Share of frames dropped at each end by ``trimmed_mean``.
TRIM = 0.1


def trimmed_mean(scores: np.ndarray) -> float:
    """The mean without the lowest and highest ``TRIM`` of the sorted scores."""
    cut = int(TRIM * len(scores))
    return float(np.sort(scores)[cut: len(scores) - cut].mean())


def top_quarter_mean(scores: np.ndarray) -> float:
    """The mean of the highest quarter (at least one score)."""
    k = max(1, int(round(0.25 * len(scores))))
    return float(np.sort(scores)[-k:].mean())


#: Rule name -> function of a non-empty array of frame scores.
AGGREGATIONS: Dict[str, Callable[[np.ndarray], float]] = {
    "trimmed_mean": trimmed_mean,
    "mean": lambda s: float(s.mean()),
    "median": lambda s: float(np.median(s)),
    "top_quarter": top_quarter_mean,
    "max": lambda s: float(s.max()),
}
DEFAULT_AGGREGATION = "trimmed_mean"


def aggregate(scores: Sequence[float], rule: str = DEFAULT_AGGREGATION) -> float:
    """One p_fake from the p_fake of each frame (at least one) by ``rule``."""
    if rule not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {rule!r}: one of {', '.join(AGGREGATIONS)}")
    if len(scores) == 0:
        raise ValueError("no frame scores to aggregate")
    return AGGREGATIONS[rule](np.asarray(scores, dtype=np.float64))
