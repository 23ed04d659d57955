"""Distill, prune and quantize a training run's student into the shipped int8 .tflite."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eyegrad.runtime.errors import EyegradError


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", default="runs/latest", help="training run directory (from `eyegrad train`)")
    p.add_argument("--out", default="models/eyegrad.tflite", help="the exported model")
    p.add_argument("--variants-dir", default="models/variants", help="every variant's .tflite and the table")
    p.add_argument("--sparsity", type=float, nargs="+", default=[0.5, 0.7], help="pruning targets")
    p.add_argument("--teacher", type=Path, default=None, metavar="RUN",
                   help="distill from this training run's teacher (same data and split; default: --run's own)")
    p.add_argument("--student", type=Path, default=None, metavar="WEIGHTS",
                   help="start from these student weights (default: RUN/student.weights.h5), e.g. an earlier "
                        "optimize run's RUN/optimize/distilled.weights.h5")
    p.add_argument("--distill-epochs", type=int, default=0, help="default: the run's student epochs")
    p.add_argument("--prune-epochs", type=int, default=4)
    p.add_argument("--qat-epochs", type=int, default=3)
    p.add_argument("--target-precision", type=float, default=0.95,
                   help="verdicts outside the uncertain band reach this validation precision")
    p.add_argument("--recalibrate", type=Path, default=None, metavar="MODEL",
                   help="no training: re-score MODEL (a .tflite exported from --run) with the runtime's "
                        "current views and write it with a new threshold, band and metrics to --out")
    p.add_argument("--workers", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    if not (Path(args.run) / "run.json").exists():
        raise EyegradError(f"{args.run} is not a training run (no run.json): run `eyegrad train` first")
    if args.teacher is not None and not (Path(args.teacher) / "teacher.weights.h5").is_file():
        raise EyegradError(f"{args.teacher} has no teacher.weights.h5: train one with `eyegrad train --teacher`")
    if args.student is not None and not Path(args.student).is_file():
        raise EyegradError(f"no such student weights file: {args.student}")
    command = " ".join(["eyegrad"] + sys.argv[1:])
    if args.recalibrate is not None:
        if not Path(args.recalibrate).is_file():
            raise EyegradError(f"no such model file: {args.recalibrate}")
        from .recalibrate import recalibrate

        recalibrate(Path(args.run), Path(args.recalibrate), Path(args.out), args.target_precision, args.workers,
                    command=command)
        return 0
    from .pipeline import optimize  # TensorFlow is imported only here

    optimize(Path(args.run), Path(args.out), Path(args.variants_dir), args.sparsity, args.distill_epochs,
             args.prune_epochs, args.qat_epochs, args.workers, args.target_precision, teacher_run=args.teacher,
             student_weights=args.student, command=command)
    return 0
