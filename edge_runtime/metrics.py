"""Binary classification metrics in numpy (fake is the positive class)."""
from __future__ import annotations

import math
from typing import Any, Dict, Sequence

import numpy as np


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U with tie correction); nan with one class."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks of ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(labels: Sequence[int], scores: Sequence[float]):
    """False and true positive rates over all thresholds (for plots)."""
    y = np.asarray(labels)[np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")]
    tps, fps = np.cumsum(y == 1), np.cumsum(y == 0)
    tpr = np.concatenate([[0.0], tps / max(1, tps[-1] if len(tps) else 1)])
    fpr = np.concatenate([[0.0], fps / max(1, fps[-1] if len(fps) else 1)])
    return fpr, tpr


def binary_report(labels: Sequence[int], scores: Sequence[float], threshold: float = 0.5,
                  decided: Sequence[bool] = None) -> Dict:
    """Accuracy, balanced accuracy, AUC, precision, recall, F1 and confusion counts.

    ``decided`` marks the samples that got a prediction; undecided ones count as wrong. A metric
    that needs both classes is NaN without them (``json_ready`` writes it as null).
    """
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    ok = np.ones(len(y), bool) if decided is None else np.asarray(decided, bool)
    pred = (s >= threshold).astype(np.int64)
    tp = int(np.sum(ok & (pred == 1) & (y == 1)))
    tn = int(np.sum(ok & (pred == 0) & (y == 0)))
    fp = int(np.sum(ok & (pred == 1) & (y == 0)))
    fn = int(np.sum(ok & (pred == 0) & (y == 1)))
    n_pos, n_neg = int(np.sum(y == 1)), int(np.sum(y == 0))
    n = len(y)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / n_pos if n_pos else 0.0
    specificity = tn / n_neg if n_neg else 0.0
    return {
        "n": n,
        "coverage": float(ok.mean()) if n else 0.0,
        "accuracy": (tp + tn) / n if n else float("nan"),
        "balanced_accuracy": (recall + specificity) / 2.0 if n_pos and n_neg else float("nan"),
        "auc": roc_auc(y, np.where(ok, s, 0.5)),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def json_ready(value: Any) -> Any:
    """``value`` with every NaN or infinite number (a metric its data cannot give, e.g. AUC
    with one class) as None, numpy numbers as Python ones: what ``json.dumps`` writes as plain
    JSON, which parsers outside Python (JavaScript, Android) accept."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
