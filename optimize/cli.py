"""Distill, prune and quantize a training run's student into the shipped int8 .tflite."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eyegrad.runtime.commands.common import number, share
from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.logs import show_progress

from .config import OptimizeConfig
from .metadata import VIEWS

D = OptimizeConfig  # the defaults of the options


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", type=Path, default=D.run, help="training run directory (from `eyegrad train`)")
    p.add_argument("--out", type=Path, default=D.out, help="the exported model")
    p.add_argument("--variants-dir", type=Path, default=D.variants_dir,
                   help="every variant's .tflite, the table and optimize.json (these options)")
    p.add_argument("--sparsity", type=share, nargs="+", default=D.sparsity, help="pruning targets")
    p.add_argument("--teacher", type=Path, default=D.teacher, metavar="RUN",
                   help="distill from this training run's teacher (same data and split; default: --run's own)")
    p.add_argument("--student", type=Path, default=D.student, metavar="WEIGHTS",
                   help="start from these student weights (default: RUN/student.weights.h5), e.g. an earlier "
                        "optimize run's RUN/optimize/distilled.weights.h5")
    p.add_argument("--distill-epochs", type=number(int, 0), default=D.distill_epochs, help="default: the run's student epochs")
    p.add_argument("--prune-epochs", type=number(int, 1), default=D.prune_epochs)
    p.add_argument("--qat-epochs", type=number(int, 1), default=D.qat_epochs)
    p.add_argument("--reals-real", type=share, default=D.reals_real,
                   help="the uncertain band clears at least this share of each validation source's reals (`real`)")
    p.add_argument("--reals-fake", type=share, default=D.reals_fake,
                   help="... and calls at most this share of them `fake`")
    p.add_argument("--videos-real", type=share, default=D.videos_real,
                   help="the video band clears at least this share of real validation pseudo-videos (`real`)")
    p.add_argument("--videos-fake", type=share, default=D.videos_fake,
                   help="... and calls at most this share of them `fake`")
    p.add_argument("--recalibrate", type=Path, default=D.recalibrate, metavar="MODEL",
                   help="no training: re-score MODEL (a .tflite exported from --run) with --views "
                        "and write it with a new threshold, band and metrics to --out")
    p.add_argument("--views", nargs="+", choices=VIEWS, default=D.views,
                   help="the views a face's p_fake is the mean of, each one model invoke: the band and its "
                        "mirror image (default, also with --recalibrate), or the band alone at half the cost")
    p.add_argument("--workers", type=number(int, 0), default=D.workers)


def check_inputs(config: OptimizeConfig) -> None:
    """A one-line error for each input file or folder that is missing."""
    if not (config.run / "run.json").exists():
        raise EyegradError(f"{config.run} is not a training run (no run.json): run `eyegrad train` first")
    if config.teacher is not None and not (config.teacher / "teacher.weights.h5").is_file():
        raise EyegradError(f"{config.teacher} has no teacher.weights.h5: train one with `eyegrad train --teacher`")
    if config.student is not None and not config.student.is_file():
        raise EyegradError(f"no such student weights file: {config.student}")
    if config.recalibrate is None and not config.student_weights.is_file():
        raise EyegradError(f"{config.run} has no student.weights.h5 (an `eyegrad train --loso-only` run trains "
                           "none): name one with --student")
    if config.recalibrate is not None and not config.recalibrate.is_file():
        raise EyegradError(f"no such model file: {config.recalibrate}")


def check_band_targets(config: OptimizeConfig) -> None:
    """A one-line error when the band targets cannot hold together (e.g. reals-real + reals-fake > 1)."""
    try:
        config.band_targets
    except ValueError as exc:
        raise EyegradError(str(exc)) from None


def check_views(config: OptimizeConfig) -> None:
    """A one-line error unless the views are the band, then at most the mirrored band (the band is
    what fine-tuning stops early on)."""
    if config.views[0] != "band" or len(set(config.views)) != len(config.views):
        raise EyegradError(f"--views is 'band' or 'band mirrored', not {' '.join(config.views)!r}")


def run(args: argparse.Namespace) -> int:
    config = OptimizeConfig.from_args(args)
    check_band_targets(config)
    check_views(config)
    check_inputs(config)
    show_progress()
    command = " ".join(["eyegrad"] + sys.argv[1:])
    if config.recalibrate is not None:
        from .recalibrate import recalibrate

        recalibrate(config.run, config.recalibrate, config.out, config.band_targets, config.workers,
                    command=command, views=config.views)
        return 0
    from .pipeline import optimize  # TensorFlow is imported only here

    optimize(config, command)
    return 0
