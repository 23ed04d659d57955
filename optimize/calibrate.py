"""Choose the decision threshold and the uncertain bands on validation scores, source by source.

Validation pools very unequal sources (thousands of MesoNet frames, a few hundred GAN
faces). A threshold or band fitted to the pooled scores serves the largest source; both
are fitted here to rates taken per source, so that each kind of image counts alike. The
image band is set by what it promises a user who checks a real photo (``BandTargets``):
most reals of every source are cleared, few are accused; what that leaves for fakes is
measured, not chosen. Videos get their own band, set on validation pseudo-videos.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Dict, List, Sequence, Tuple

import numpy as np

from eyegrad.runtime.aggregation import DEFAULT_AGGREGATION, aggregate
from eyegrad.runtime.metrics import binary_report

if TYPE_CHECKING:
    from eyegrad.train.run import RunData


#: A validation group of one label with at least this many images counts as a pseudo-video.
PSEUDO_VIDEO_FRAMES = 5


@dataclasses.dataclass(frozen=True)
class BandTargets:
    """What the bands promise on validation: on every source with reals, at least ``reals_real``
    of them get `real` and at most ``reals_fake`` get `fake`; of real pseudo-videos, at least
    ``videos_real`` get `real` and at most ``videos_fake`` get `fake`."""

    reals_real: float = 0.6
    reals_fake: float = 0.08
    videos_real: float = 0.95
    videos_fake: float = 0.05

    def __post_init__(self) -> None:
        for real, fake in ((self.reals_real, self.reals_fake), (self.videos_real, self.videos_fake)):
            if not (0 < real <= 1 and 0 <= fake < 1 and real + fake <= 1):
                raise ValueError("band targets need 0 < reals_real <= 1, 0 <= reals_fake < 1 and "
                                 "reals_real + reals_fake <= 1 (and the same for videos_real, videos_fake)")


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


def _cut_above(scores: np.ndarray, share: float) -> float:
    """The lowest cut ``c`` with at least ``share`` of ``scores`` strictly below it."""
    k = max(1, int(np.ceil(share * len(scores))))
    return float(np.nextafter(np.sort(scores)[k - 1], 1.0))


def uncertain_band(labels: Sequence[int], scores: Sequence[float], threshold: float,
                   sources: Sequence[str] = (), targets: BandTargets = BandTargets()) -> Dict:
    """The band ``[lo, hi]`` that clears reals: in every source with reals, at least
    ``targets.reals_real`` of them score below ``lo`` (verdict `real`) and at most
    ``targets.reals_fake`` above ``hi`` (verdict `fake`).

    ``lo`` is the lowest cut that clears enough reals of every source, ``hi`` the lowest cut
    (not below ``lo``) that accuses few enough of every source's reals; with no reals, both are
    ``threshold``. What the band leaves for fakes (each source's verdict rates, the share of
    `uncertain`) is returned with it."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    src = source_names(y, sources)
    reals = strata(y, src)[0]
    lo = max([_cut_above(s[m], targets.reals_real) for m in reals], default=threshold)
    hi = max([lo] + [_cut_above(s[m], 1.0 - targets.reals_fake) for m in reals]) if reals else threshold
    return {"uncertain_band": [lo, hi], "targets": dataclasses.asdict(targets),
            "share_uncertain": float(((s >= lo) & (s <= hi)).mean()) if len(s) else 0.0,
            "verdicts_per_source": verdicts_per_source(y, s, src, (lo, hi))}


def verdicts_per_source(labels: np.ndarray, scores: np.ndarray, sources: np.ndarray,
                        band: Tuple[float, float]) -> Dict[str, Dict[str, int]]:
    """Per source: how many reals and fakes there are and how many of each get `real` and `fake`."""
    lo, hi = band
    out = {}
    for name in sorted(set(sources.tolist())):
        m = sources == name
        fakes, reals = scores[m & (labels == 1)], scores[m & (labels == 0)]
        out[name] = {"fakes": int(len(fakes)), "fakes_called_fake": int((fakes > hi).sum()),
                     "fakes_called_real": int((fakes < lo).sum()),
                     "reals": int(len(reals)), "reals_called_fake": int((reals > hi).sum()),
                     "reals_called_real": int((reals < lo).sum())}
    return out


def pseudo_videos(labels: np.ndarray, scores: np.ndarray, groups: np.ndarray,
                  rule: str = DEFAULT_AGGREGATION) -> Tuple[np.ndarray, np.ndarray]:
    """Labels and combined scores (``rule``, as the runtime combines a video's frames) of the
    validation groups of one label with at least ``PSEUDO_VIDEO_FRAMES`` images: the frames of
    one video or scene, the nearest validation has to a video."""
    out_y, out_s = [], []
    for g in sorted(set(groups.tolist())):
        m = groups == g
        for label in (0, 1):
            frames = scores[m & (labels == label)]
            if len(frames) >= PSEUDO_VIDEO_FRAMES:
                out_y.append(label)
                out_s.append(aggregate(frames, rule))
    return np.asarray(out_y, int), np.asarray(out_s, np.float64)


def video_band(labels: Sequence[int], scores: Sequence[float], groups: Sequence[str], image_band: Sequence[float],
               targets: BandTargets = BandTargets()) -> Dict:
    """The uncertain band of a video's combined score, set on validation pseudo-videos as the image
    band is on images: at least ``targets.videos_real`` of the real ones get `real`, at most
    ``targets.videos_fake`` get `fake`. Without real pseudo-videos it is the image band."""
    y, s = pseudo_videos(np.asarray(labels), np.asarray(scores, np.float64), np.asarray(groups))
    if not (y == 0).any():
        lo, hi = image_band
    else:
        lo = _cut_above(s[y == 0], targets.videos_real)
        hi = max(lo, _cut_above(s[y == 0], 1.0 - targets.videos_fake))
    counts = verdicts_per_source(y, s, np.zeros(len(y), dtype=str), (lo, hi)).get("", {})
    return {"video_band": [float(lo), float(hi)], "pseudo_videos": counts}


def calibration(data: RunData, pred: np.ndarray, targets: BandTargets = BandTargets()) -> Dict:
    """Threshold, image and video bands and validation metrics of a model's validation scores.

    The threshold (source-balanced accuracy) is kept inside the image band, so that a face that
    gets `real` or `fake` is also counted so by accuracy."""
    y, sources = data.val.labels, data.val.sources
    balanced = balanced_threshold(y, pred, sources)
    band = uncertain_band(y, pred, balanced, sources, targets)
    lo, hi = band["uncertain_band"]
    threshold = min(max(balanced, lo), hi)
    videos = video_band(y, pred, data.val.groups, (lo, hi), targets)
    metrics = {"validation": binary_report(y, pred, threshold),
               "validation_per_source": {src: binary_report(y[m], pred[m], threshold)
                                         for src in sorted(set(sources)) for m in [sources == src]}}
    return {"threshold": threshold, "band": {**band, "videos": videos["pseudo_videos"]},
            "video_band": videos["video_band"], "metrics": metrics}
