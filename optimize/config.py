"""What ``eyegrad optimize`` was asked (``OptimizeConfig``), saved as optimize.json beside the variants.

Loading follows the rules of ``eyegrad.train.config``. This module imports no TensorFlow.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import ClassVar, Optional, Tuple

from eyegrad.train.config import JsonConfig

from .calibrate import BandTargets
from .metadata import VIEWS

OPTIMIZE_FILE = "optimize.json"


@dataclasses.dataclass(frozen=True)
class OptimizeConfig(JsonConfig):
    """The training run to optimize, where the results go, and the fine-tuning budget."""

    #: the band was once set by pooled precision, then by a limit on wrong verdicts of either class
    RETIRED: ClassVar[Tuple[str, ...]] = ("target_precision", "max_wrong")

    run: Path = Path("runs/latest")
    out: Path = Path("models/eyegrad.tflite")
    variants_dir: Path = Path("models/variants")
    sparsity: Tuple[float, ...] = (0.5, 0.7)
    teacher: Optional[Path] = None
    student: Optional[Path] = None
    distill_epochs: int = 0
    prune_epochs: int = 4
    qat_epochs: int = 3
    reals_real: float = BandTargets.reals_real
    reals_fake: float = BandTargets.reals_fake
    videos_real: float = BandTargets.videos_real
    videos_fake: float = BandTargets.videos_fake
    recalibrate: Optional[Path] = None
    views: Tuple[str, ...] = VIEWS
    workers: int = 0

    @property
    def band_targets(self) -> BandTargets:
        """What the uncertain bands promise on validation."""
        return BandTargets(self.reals_real, self.reals_fake, self.videos_real, self.videos_fake)

    @property
    def student_weights(self) -> Path:
        """The student weights to start from: ``student``, or the run's own."""
        return self.student or self.run / "student.weights.h5"


def save_optimize(config: OptimizeConfig, command: Optional[str] = None) -> None:
    """Record ``config`` (and the command line) as optimize.json in its variants folder."""
    config.variants_dir.mkdir(parents=True, exist_ok=True)
    record = {"args": config.to_dict(), "command": command, "date": time.strftime("%Y-%m-%d")}
    (config.variants_dir / OPTIMIZE_FILE).write_text(json.dumps(record, indent=1))
