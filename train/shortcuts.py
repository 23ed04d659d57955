"""Checks that a model does not separate the classes by JPEG compression alone."""
from __future__ import annotations

from typing import Callable, Dict, Sequence

import numpy as np
from PIL import Image

from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.metrics import roc_auc

from .augment import jpeg_roundtrip, plain_features
from .cache import CONTEXT_GEOMETRY, crops_of_gray


def jpeg_table_mean(path: str) -> float:
    """Mean of the luminance quantisation table (higher = lower quality); nan if not JPEG."""
    try:
        with Image.open(path) as img:
            tables = getattr(img, "quantization", None) or {}
            return float(np.mean(tables[0])) if 0 in tables else float("nan")
    except OSError:
        return float("nan")


def reencoded_scores(paths: Sequence[str], score: Callable[[np.ndarray], float], quality: int) -> np.ndarray:
    """Scores of images decoded, re-encoded at one JPEG quality and decoded again."""
    out = []
    for p in paths:
        gray = jpeg_roundtrip(decode_image(p), quality)
        got = crops_of_gray(gray, CONTEXT_GEOMETRY)
        out.append(np.nan if got is None else score(got[0]))
    return np.array(out, np.float64)


def jpeg_shortcut_report(paths: Sequence[str], labels: Sequence[int], original: np.ndarray,
                         score: Callable[[np.ndarray], float], quality: int = 80) -> Dict:
    """AUC of the JPEG table alone, of the model, and of the model on re-encoded files."""
    labels = np.asarray(labels)
    table = np.array([jpeg_table_mean(p) for p in paths])
    ok = ~np.isnan(table)
    re = reencoded_scores(paths, score, quality)
    keep = ~np.isnan(re)
    return {
        "n": int(len(paths)),
        "auc_jpeg_table_only": roc_auc(labels[ok], table[ok]) if ok.any() else float("nan"),
        "auc_model_original": roc_auc(labels, original),
        f"auc_model_reencoded_q{quality}": roc_auc(labels[keep], re[keep]),
        "mean_abs_score_change": float(np.mean(np.abs(re[keep] - np.asarray(original)[keep]))),
    }


def crop_scorer(model, context, band) -> Callable[[np.ndarray], float]:
    """Score one context crop with a Keras model through the training feature path."""
    return lambda crop: float(model.predict(plain_features(crop, context, band)[None], verbose=0)[0, 0])
