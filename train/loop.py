"""Fit a model on augmented bands with early stopping on validation ROC-AUC."""
from __future__ import annotations

import dataclasses
import json
import logging
import random
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from eyegrad.runtime.features import BandGeometry
from eyegrad.runtime.metrics import json_ready, roc_auc

from .augment import AUGMENT_PRESETS
from .cache import CONTEXT_GEOMETRY, CropSet
from .config import RunConfig
from .sequence import AugmentedBands, plain_batch
from .tf import keras, tf

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """How one model is fitted (``fit``, ``train_model``): a run's settings for one of its models."""

    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 3e-3
    weight_decay: float = 1e-5
    patience: int = 5
    sbi_rate: float = 0.5
    label_smoothing: float = 0.0
    seed: int = 0
    augment: str = "strong"
    #: average the weights of the last N epochs (0: off); the average is kept if it scores better
    average_last: int = 0
    #: linear learning-rate warm-up from 0 (at most a quarter of the run): without it, a fresh
    #: teacher at 3e-3 with strong augmentation stayed at loss 0.693 (research/error_analysis.md)
    warmup_epochs: float = 1.0
    #: every fake in a batch with a real of its identity group (``AugmentedBands``)
    paired_batches: bool = False
    #: (source, factor) pairs that scale the sample weights of a source (``epoch_entries``)
    source_weights: Tuple[Tuple[str, float], ...] = ()

    @classmethod
    def for_run(cls, config: RunConfig, epochs: Optional[int] = None) -> "TrainSettings":
        """The settings ``config`` trains with, for ``epochs`` (default: the run's); also how
        ``eyegrad optimize`` fine-tunes the run's student."""
        return cls(epochs=config.epochs if epochs is None else epochs, batch_size=config.batch_size,
                   learning_rate=config.lr, sbi_rate=config.sbi_rate, seed=config.seed, augment=config.augment,
                   average_last=config.average_last, paired_batches=config.paired_batches,
                   source_weights=tuple(config.source_weight_map.items()))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)


def distribution_strategy() -> "tf.distribute.Strategy":
    """MirroredStrategy over several GPUs, mixed precision on any GPU, default on the CPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


class BestAUC(keras.callbacks.Callback):
    """Validation ROC-AUC each epoch; keeps the best weights and stops after ``patience``.

    With ``average_last`` the weights of the last N epochs are also averaged (stochastic
    weight averaging); early stopping is then off, since the average needs the end of the
    learning-rate schedule, and the average replaces the best epoch if it scores higher."""

    def __init__(self, val_x: np.ndarray, val_y: np.ndarray, patience: int, restore_best: bool = True,
                 average_last: int = 0) -> None:
        super().__init__()
        self.val_x, self.val_y, self.patience = val_x, val_y, patience
        self.restore_best, self.average_last = restore_best, average_last
        self.best, self.best_epoch, self.best_weights = -np.inf, -1, None
        self.history: List[Dict] = []
        self.weight_sum: Optional[List[np.ndarray]] = None
        self.averaged_epochs = 0

    def val_auc(self) -> float:
        return roc_auc(self.val_y, self.model.predict(self.val_x, batch_size=256, verbose=0).reshape(-1))

    def on_epoch_end(self, epoch: int, logs: Optional[Dict] = None) -> None:
        auc = self.val_auc()
        row = {"epoch": epoch + 1, "val_auc": auc, **{k: float(v) for k, v in (logs or {}).items()}}
        self.history.append(row)
        if logs is not None:
            logs["val_auc"] = auc
        mark = ""
        if auc > self.best or np.isnan(auc):  # one-class validation: keep the latest weights
            self.best, self.best_epoch, self.best_weights = auc, epoch, self.model.get_weights()
            mark = " *"
        logger.info("epoch %d: loss %.4f val_auc %.4f%s", epoch + 1, row.get("loss", float("nan")), auc, mark)
        if self.average_last and epoch >= self.params["epochs"] - self.average_last:
            weights = self.model.get_weights()
            self.weight_sum = weights if self.weight_sum is None else [a + w for a, w in zip(self.weight_sum, weights)]
            self.averaged_epochs += 1
        elif epoch - self.best_epoch >= self.patience and not self.average_last:
            self.model.stop_training = True

    def on_train_end(self, logs: Optional[Dict] = None) -> None:
        if self.weight_sum is not None:
            self.model.set_weights([w / self.averaged_epochs for w in self.weight_sum])
            auc = self.val_auc()
            better = auc > self.best
            logger.info("weights averaged over the last %d epochs: val_auc %.4f (%s)", self.averaged_epochs, auc,
                        "kept" if better else "best epoch kept")
            self.history[-1].update(averaged_epochs=self.averaged_epochs, averaged_val_auc=auc,
                                    kept_average=bool(better))
            if better:
                self.best, self.best_epoch, self.best_weights = auc, -1, self.model.get_weights()
        if self.restore_best and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def learning_rate_schedule(cfg: TrainSettings, steps: int) -> "keras.optimizers.schedules.LearningRateSchedule":
    """Linear warm-up over ``cfg.warmup_epochs`` (capped at a quarter of the run), then cosine decay
    to 2% of ``cfg.learning_rate`` at the end of the run; ``steps`` batches per epoch."""
    total = max(1, steps * cfg.epochs)
    warmup = int(min(steps * cfg.warmup_epochs, total // 4))
    return keras.optimizers.schedules.CosineDecay(0.0 if warmup else cfg.learning_rate, max(1, total - warmup),
                                                  alpha=0.02, warmup_target=cfg.learning_rate if warmup else None,
                                                  warmup_steps=warmup)


def compile_model(model: keras.Model, cfg: TrainSettings, steps: int) -> None:
    schedule = learning_rate_schedule(cfg, steps)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay),
                  loss=keras.losses.BinaryCrossentropy(label_smoothing=cfg.label_smoothing))


def train_model(model: keras.Model, seq: keras.utils.Sequence, val_x: np.ndarray, val_y: np.ndarray,
                cfg: TrainSettings, out_dir: Path, extra_callbacks: Sequence[keras.callbacks.Callback] = (),
                restore_best: bool = True) -> List[Dict]:
    """Compile and fit an already built model; keeps the weights of the best validation AUC
    (or the last ones with ``restore_best=False``, e.g. when pruning must end at its target)."""
    compile_model(model, cfg, len(seq))
    best = BestAUC(val_x, val_y, cfg.patience, restore_best, cfg.average_last)
    out_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [best, keras.callbacks.TensorBoard(log_dir=str(out_dir / "tensorboard" / model.name),
                                                   write_graph=False), *extra_callbacks]
    model.fit(seq, epochs=cfg.epochs, callbacks=callbacks, verbose=2, shuffle=False)
    (out_dir / f"{model.name}_history.json").write_text(json.dumps(json_ready(best.history), indent=1))
    return best.history


def warm_start(model: keras.Model, weights: Path) -> None:
    """Load the layers of ``weights`` (.h5) that match ``model``'s by name and shape, so a run
    can continue from an earlier architecture; the others keep their fresh initialisation."""
    before = [w.copy() for w in model.get_weights()]
    with warnings.catch_warnings():  # one line below says what was loaded
        warnings.simplefilter("ignore", UserWarning)
        model.load_weights(str(weights), by_name=True, skip_mismatch=True)
    loaded = sum(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    logger.info("warm start from %s: %d of %d weight arrays loaded", weights, loaded, len(before))


def fit(builder: Callable[[Tuple[int, int, int]], keras.Model], band: BandGeometry, train: CropSet,
        val: CropSet, cfg: TrainSettings, out_dir: Path, real_only_sources: Sequence[str] = (),
        init_weights: Optional[Path] = None) -> Tuple[keras.Model, List[Dict], np.ndarray]:
    """Train ``builder``'s model on ``band`` (from ``init_weights`` if given, e.g. to continue a run);
    returns it (best weights), history and val predictions."""
    seed_everything(cfg.seed)
    strategy = distribution_strategy()
    seq = AugmentedBands(train, CONTEXT_GEOMETRY, [band], cfg.batch_size, cfg.sbi_rate, real_only_sources, cfg.seed,
                         AUGMENT_PRESETS[cfg.augment], cfg.paired_batches, dict(cfg.source_weights))
    val_x = plain_batch(val, CONTEXT_GEOMETRY, band)
    with strategy.scope():
        model = builder((band.height, band.width, 3))
        if init_weights is not None:
            warm_start(model, init_weights)
    history = train_model(model, seq, val_x, val.labels, cfg, out_dir)
    pred = model.predict(val_x, batch_size=256, verbose=0).reshape(-1) if len(val_x) else np.zeros(0)
    return model, history, pred
