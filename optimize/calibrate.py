"""Choose the decision threshold and the uncertain band on validation scores, source by source.

Validation pools very unequal sources (thousands of MesoNet frames, a few hundred GAN
faces). A threshold or band fitted to the pooled scores serves the largest source; both
are fitted here to rates taken per source, so that each kind of fake counts alike.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Sequence

import numpy as np

from eyegrad.runtime.metrics import binary_report

if TYPE_CHECKING:
    from eyegrad.train.run import RunData


def source_names(labels: Sequence[int], sources: Sequence[str]) -> np.ndarray:
    """Each image's source; without ``sources`` every image is of one unnamed source."""
    return np.asarray(sources) if len(sources) else np.zeros(len(labels), dtype=str)


def strata(labels: Sequence[int], sources: np.ndarray) -> Dict[int, List[np.ndarray]]:
    """Per class (0 real, 1 fake), one boolean mask per source that has images of that class."""
    y = np.asarray(labels)
    return {c: [(y == c) & (sources == s) for s in sorted(set(sources[y == c].tolist()))] for c in (0, 1)}


def balanced_threshold(labels: Sequence[int], scores: Sequence[float],
                       sources: Sequence[str] = ()) -> float:
    """The threshold that maximises source-balanced accuracy (ties: closest to 0.5).

    Source-balanced accuracy is the mean of two means: of each source's share of fakes at or
    above the threshold, and of each source's share of reals below it. Without ``sources``
    every image is of one source (plain balanced accuracy)."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    groups = strata(y, source_names(y, sources))
    best, best_t = -1.0, 0.5
    for t in np.unique(np.concatenate([s, [0.5]])):
        pred = s >= t
        caught = np.mean([pred[m].mean() for m in groups[1]]) if groups[1] else 0.0
        passed = np.mean([(~pred[m]).mean() for m in groups[0]]) if groups[0] else 0.0
        score = 0.5 * (caught + passed)
        if score > best + 1e-12 or (abs(score - best) <= 1e-12 and abs(t - 0.5) < abs(best_t - 0.5)):
            best, best_t = score, float(t)
    return best_t


def uncertain_band(labels: Sequence[int], scores: Sequence[float], threshold: float,
                   sources: Sequence[str] = (), max_wrong: float = 0.05) -> Dict:
    """The band ``[lo, hi]`` around ``threshold`` outside which, in every source, at most
    ``max_wrong`` of the reals get `fake` (p > hi) and of the fakes get `real` (p < lo).

    ``hi`` is the lowest cut (not below the threshold) that meets the limit on the reals of
    every source; ``lo`` the highest cut (not above it) that meets it on the fakes. What the
    band gives on validation (each source's verdict rates, the share of `uncertain`) is
    returned with it."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    src = source_names(y, sources)
    groups = strata(y, src)
    # a cut c meets the limit on a set of scores if at most max_wrong of them are beyond it
    hi = max([threshold] + [float(np.quantile(s[m], 1 - max_wrong, method="higher")) for m in groups[0]])
    lo = min([threshold] + [float(np.quantile(s[m], max_wrong, method="lower")) for m in groups[1]])
    per_source = {}
    for name in sorted(set(src.tolist())):
        m = src == name
        fakes, reals = s[m & (y == 1)], s[m & (y == 0)]
        per_source[name] = {"fakes": int(len(fakes)), "fakes_called_fake": int((fakes > hi).sum()),
                            "fakes_called_real": int((fakes < lo).sum()),
                            "reals": int(len(reals)), "reals_called_fake": int((reals > hi).sum()),
                            "reals_called_real": int((reals < lo).sum())}
    inside = (s >= lo) & (s <= hi)
    return {"uncertain_band": [lo, hi], "max_wrong_per_source": max_wrong,
            "share_uncertain": float(inside.mean()) if len(s) else 0.0, "verdicts_per_source": per_source}


def calibration(data: RunData, pred: np.ndarray, max_wrong: float) -> Dict:
    """Threshold, uncertain band and validation metrics of a model's validation scores."""
    y, sources = data.val.labels, data.val.sources
    threshold = balanced_threshold(y, pred, sources)
    band = uncertain_band(y, pred, threshold, sources, max_wrong)
    metrics = {"validation": binary_report(y, pred, threshold),
               "validation_per_source": {src: binary_report(y[m], pred[m], threshold)
                                         for src in sorted(set(sources)) for m in [sources == src]}}
    return {"threshold": threshold, "band": band, "metrics": metrics}
