"""Keras Sequences of augmented batches: real and fake crops plus self-blended fakes."""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Mapping, NamedTuple, Sequence, Tuple

import numpy as np

from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.features import BandGeometry, mirror_features

from .augment import AugmentConfig, augmented_features, plain_features
from .cache import CropSet
from .tf import keras


class Entry(NamedTuple):
    index: int       # row of the CropSet
    label: int       # 1 for fakes, including self-blended ones
    make_fake: bool  # build a self-blended fake from this real crop
    weight: float


def epoch_entries(crops: CropSet, sbi_rate: float, real_only_sources: Sequence[str],
                  rng: np.random.Generator, source_weights: Mapping[str, float] = {}) -> List[Entry]:
    """One epoch's samples with weights that balance classes and damp large sources.

    Every crop appears once; each real crop also gives a self-blended fake with
    probability ``sbi_rate`` (always, for sources that have no fakes of their own).
    A sample's weight is 1/sqrt(size of its (source, kind) stratum), times its source's
    ``source_weights`` entry (default 1), rescaled so both classes weigh the same.
    """
    raw = [(i, int(y), False) for i, y in enumerate(crops.labels)]
    for i, y in enumerate(crops.labels):
        if y == 0 and (crops.sources[i] in real_only_sources or rng.random() < sbi_rate):
            raw.append((i, 1, True))
    keys = [(crops.sources[i], y, fake) for i, y, fake in raw]
    counts = {k: keys.count(k) for k in set(keys)}
    w = np.array([source_weights.get(k[0], 1.0) / np.sqrt(counts[k]) for k in keys])
    labels = np.array([y for _, y, _ in raw])
    for c in (0, 1):
        if (labels == c).any():
            w[labels == c] *= 0.5 * len(w) / w[labels == c].sum()
    return [Entry(i, y, fake, float(wi)) for (i, y, fake), wi in zip(raw, w)]


def shuffled(items: Sequence, rng: np.random.Generator) -> list:
    """``items`` in the random order of one ``rng.permutation``."""
    return [items[i] for i in rng.permutation(len(items))]


def paired_order(entries: Sequence[Entry], groups: np.ndarray, rng: np.random.Generator) -> List[Entry]:
    """The entries in random order, each fake next to a real of its identity group (a face swap
    with its original video, a self-blended fake with a real of its person) while the group has
    reals left, the group's own fakes first. The other entries are adjacent twos of random
    partners, so that in batches of an even size no pair is ever cut (an odd one out comes last)."""
    by_group: Dict[str, Tuple[List[Entry], List[Entry]]] = defaultdict(lambda: ([], []))
    for e in entries:
        by_group[groups[e.index]][e.label].append(e)
    units: List[List[Entry]] = []
    singles: List[Entry] = []
    for reals, fakes in by_group.values():
        reals, fakes = shuffled(reals, rng), shuffled(fakes, rng)
        fakes.sort(key=lambda e: e.make_fake)  # stable: shuffled within each kind
        n = min(len(reals), len(fakes))
        units += [[fake, real] for fake, real in zip(fakes[:n], reals[:n])]
        singles += reals[n:] + fakes[n:]
    singles = shuffled(singles, rng)
    units += [singles[i:i + 2] for i in range(0, len(singles) - 1, 2)]
    order = [e for unit in shuffled(units, rng) for e in unit]
    return order + singles[len(singles) - len(singles) % 2:]


class AugmentedBands(keras.utils.Sequence):
    """Batches of augmented features; with several bands, x is a list (student, teacher).

    With ``paired`` every fake shares its batch with a real of its identity group (``paired_order``),
    so that what the two have in common (person, scene, compression) pulls both ways within one
    step. On these data it did not help (research/loso.md, "paired batches")."""

    def __init__(self, crops: CropSet, context: BandGeometry, bands: Sequence[BandGeometry],
                 batch_size: int = 64, sbi_rate: float = 0.5, real_only_sources: Sequence[str] = (),
                 seed: int = 0, cfg: AugmentConfig = AugmentConfig(), paired: bool = False,
                 source_weights: Mapping[str, float] = {}, **kw) -> None:
        super().__init__(**kw)
        if paired and batch_size % 2:
            raise EyegradError(f"paired batches need an even batch size, not {batch_size}")
        self.crops, self.context, self.bands = crops, context, list(bands)
        self.batch_size, self.sbi_rate, self.real_only = batch_size, sbi_rate, tuple(real_only_sources)
        self.seed, self.cfg, self.paired, self.epoch = seed, cfg, paired, 0
        self.source_weights = dict(source_weights)
        self._plan()

    def _plan(self) -> None:
        rng = np.random.default_rng([self.seed, self.epoch, 1])
        entries = epoch_entries(self.crops, self.sbi_rate, self.real_only, rng, self.source_weights)
        if self.paired:
            self.entries = paired_order(entries, self.crops.groups, rng)
        else:
            self.entries = shuffled(entries, rng)

    def __len__(self) -> int:
        return max(1, len(self.entries) // self.batch_size)

    def batch(self, b: int) -> Tuple[List[np.ndarray], np.ndarray, np.ndarray]:
        """Features per band, labels and weights of batch ``b`` (deterministic per seed, epoch, b)."""
        rng = np.random.default_rng([self.seed, self.epoch, 2, b])
        chunk = self.entries[b * self.batch_size:(b + 1) * self.batch_size]
        per_band: List[list] = [[] for _ in self.bands]
        for e in chunk:
            for k, f in enumerate(augmented_features(self.crops.crops[e.index], e.make_fake, self.context,
                                                     self.bands, rng, self.cfg, fake=e.label == 1)):
                per_band[k].append(f)
        xs = [np.stack(v) for v in per_band]
        y = np.array([e.label for e in chunk], np.float32)
        w = np.array([e.weight for e in chunk], np.float32)
        return xs, y, w

    def __getitem__(self, b: int):
        xs, y, w = self.batch(b)
        return (xs[0] if len(xs) == 1 else xs), y, w

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._plan()


def plain_batch(crops: CropSet, context: BandGeometry, band: BandGeometry) -> np.ndarray:
    """Un-augmented features of every crop (for validation)."""
    if len(crops.crops) == 0:
        return np.zeros((0, band.height, band.width, 3), np.float32)
    return np.stack([plain_features(c, context, band) for c in crops.crops])


def view_batches(crops: CropSet, context: BandGeometry, band: BandGeometry, views: Sequence[str],
                 zooms: Sequence[float]) -> List[np.ndarray]:
    """Un-augmented features of every crop for each view the runtime averages (``band`` or
    ``mirrored``, as in a model's metadata), cut at each zoom (``BandGeometry.zoomed``). As in
    the runtime, the mirrored view is the band's features mirrored, not a second cut."""
    out = []
    for z in zooms:
        x = plain_batch(crops, context, band.zoomed(z))
        out += [mirror_features(x) if view == "mirrored" else x for view in views]
    return out
