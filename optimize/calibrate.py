"""Choose the decision threshold and the uncertain band on validation scores."""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Sequence

import numpy as np

from eyegrad.runtime.metrics import binary_report

if TYPE_CHECKING:
    from eyegrad.train.run import RunData


def balanced_threshold(labels: Sequence[int], scores: Sequence[float]) -> float:
    """The threshold that maximises balanced accuracy (ties: closest to 0.5)."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    best, best_t = -1.0, 0.5
    for t in np.unique(np.concatenate([s, [0.5]])):
        pred = s >= t
        bacc = 0.5 * (pred[y == 1].mean() + (~pred[y == 0]).mean())
        if bacc > best + 1e-12 or (abs(bacc - best) <= 1e-12 and abs(t - 0.5) < abs(best_t - 0.5)):
            best, best_t = bacc, float(t)
    return best_t


def uncertain_band(labels: Sequence[int], scores: Sequence[float], threshold: float,
                   target_precision: float = 0.95, max_share: float = 0.25) -> Dict:
    """A band around the threshold outside which both verdicts reach ``target_precision``.

    The band grows symmetrically in rank until the fake side (p > hi) and the real
    side (p < lo) each reach the target precision, or until it holds ``max_share`` of
    the validation images; the band found and the precisions reached are returned.
    """
    y, s = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    order = np.sort(s)
    centre = np.searchsorted(order, threshold)
    n = len(s)
    lo = hi = threshold
    for k in range(0, int(max_share * n / 2) + 1):
        lo = float(order[max(0, centre - k)]) if k else threshold
        hi = float(order[min(n - 1, centre + k)]) if k else threshold
        lo, hi = min(lo, threshold), max(hi, threshold)
        fake_side, real_side = s > hi, s < lo
        p_fake = y[fake_side].mean() if fake_side.any() else 1.0
        p_real = (1 - y[real_side]).mean() if real_side.any() else 1.0
        if p_fake >= target_precision and p_real >= target_precision:
            break
    inside = (s >= lo) & (s <= hi)
    return {"uncertain_band": [lo, hi], "share_uncertain": float(inside.mean()) if n else 0.0,
            "precision_fake_outside": float(y[s > hi].mean()) if (s > hi).any() else None,
            "precision_real_outside": float((1 - y[s < lo]).mean()) if (s < lo).any() else None,
            "target_precision": target_precision}


def calibration(data: RunData, pred: np.ndarray, target_precision: float) -> Dict:
    """Threshold, uncertain band and validation metrics of a model's validation scores."""
    y, sources = data.val.labels, data.val.sources
    threshold = balanced_threshold(y, pred)
    band = uncertain_band(y, pred, threshold, target_precision)
    metrics = {"validation": binary_report(y, pred, threshold),
               "validation_per_source": {src: binary_report(y[m], pred[m], threshold)
                                         for src in sorted(set(sources)) for m in [sources == src]}}
    return {"threshold": threshold, "band": band, "metrics": metrics}
