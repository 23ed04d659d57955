"""Train the student and teacher eye-band CNNs on folders of real and fake faces."""
from __future__ import annotations

import argparse
from pathlib import Path

from eyegrad.runtime.commands.common import number, share
from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.logs import show_progress

from .augment import AUGMENT_PRESETS
from .config import RunConfig, parse_source_weight
from .run import SPLIT_VERSIONS, STUDENT_BANDS

D = RunConfig  # the defaults of the options
COUNT, POSITIVE = number(int, 1), number(float, 0.0, above=True)


def source_weight(text: str) -> str:
    """An argparse type: SOURCE=FACTOR with a positive factor (``parse_source_weight``), kept as written."""
    try:
        parse_source_weight(text)
    except EyegradError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", nargs="+", required=True, metavar="ROOT",
                   help="dataset roots, each with real/ and fake/ (or real/ only: self-blended fakes are made)")
    p.add_argument("--out", type=Path, default=D.out, help="run directory (weights, reports, plots)")
    p.add_argument("--epochs", type=COUNT, default=D.epochs)
    p.add_argument("--batch-size", type=COUNT, default=D.batch_size)
    p.add_argument("--lr", type=POSITIVE, default=D.lr)
    p.add_argument("--sbi-rate", type=share, default=D.sbi_rate,
                   help="share of real crops that also give a self-blended fake per epoch (0 disables)")
    p.add_argument("--sbi-only", action="store_true",
                   help="train without the real fakes: every fake is self-blended from the real crops")
    p.add_argument("--augment", choices=tuple(AUGMENT_PRESETS), default=D.augment, help="augmentation strength")
    p.add_argument("--average-last", type=number(int, 0), default=D.average_last, metavar="N",
                   help="also average the weights of the last N epochs (no early stopping then)")
    p.add_argument("--paired-batches", action=argparse.BooleanOptionalAction, default=D.paired_batches,
                   help="put every fake in a batch with a real of the same person or scene (a dfdc swap with "
                        "its original, a self-blended fake with a real of its person; measured no gain: "
                        "research/loso.md)")
    p.add_argument("--val-fraction", type=share, default=D.val_fraction)
    p.add_argument("--split", choices=tuple(SPLIT_VERSIONS), default=D.split,
                   help="validation split: 'groups' keeps each person or scene (pairs.csv, near-duplicate "
                        "images, a video, in mesonet_df the runs of one face) on one side; 'groups-v1' and "
                        "'blocks' (blocks of 200 file numbers): older runs' splits")
    p.add_argument("--band", choices=tuple(STUDENT_BANDS), default=D.band,
                   help="the student's input: 'eyes', both eyes with brows and lids (48 x 128); 'periocular', "
                        "also the skin around them and the bridge of the nose (64 x 144, same pixel scale)")
    p.add_argument("--eye-consistency", action=argparse.BooleanOptionalAction, default=D.eye_consistency,
                   help="also compare the two eyes at the band's own resolution: the band against itself moved "
                        "by the eye spacing (highlights, iris) and against its mirror (pupil outline, lids)")
    p.add_argument("--source-weight", dest="source_weights", nargs="+", type=source_weight, default=D.source_weights,
                   metavar="SOURCE=FACTOR", help="scale the training weight of a source's samples, e.g. "
                                                 "t2i_portraits=0.5 (default 1 for every source)")
    p.add_argument("--seed", type=int, default=D.seed)
    p.add_argument("--teacher", action="store_true", help="also train the teacher (for `eyegrad optimize`)")
    p.add_argument("--teacher-epochs", type=COUNT, default=D.teacher_epochs, help="default: --epochs")
    p.add_argument("--no-student", action="store_true", help="train the teacher only (with --teacher)")
    p.add_argument("--init", type=Path, default=D.init, metavar="WEIGHTS",
                   help="start the student from these weights (e.g. runs/main/student.weights.h5) to train on")
    p.add_argument("--teacher-init", type=Path, default=D.teacher_init, metavar="WEIGHTS",
                   help="start the teacher from these weights (any model of its widths: the band size may differ)")
    p.add_argument("--loso", action="store_true", help="also run the leave-one-source-out table")
    p.add_argument("--loso-epochs", type=COUNT, default=D.loso_epochs)
    p.add_argument("--loso-only", action="store_true", help="only the leave-one-source-out table")
    p.add_argument("--loso-sources", nargs="+", default=D.loso_sources, metavar="SOURCE",
                   help="leave out only these sources, one at a time (names as in the table, e.g. stylegan_ffhq; "
                        "default: each source): a row at full training length without the cost of every row")
    p.add_argument("--limit", type=COUNT, default=D.limit, help="at most N images per source and class (quick runs)")
    p.add_argument("--cache", type=Path, default=D.cache, help="feature cache directory (default ~/.cache/eyegrad)")
    p.add_argument("--workers", type=number(int, 0), default=D.workers, help="feature extraction processes (default: all cores)")
    p.add_argument("--frames-every", type=COUNT, default=D.frames_every, help="video files: keep every Nth frame")
    p.add_argument("--frames-max", type=COUNT, default=D.frames_max, help="video files: at most K frames per video")


def run(args: argparse.Namespace) -> int:
    config = RunConfig.from_args(args)
    for root in config.data:
        if not root.is_dir():
            raise EyegradError(f"no such dataset folder: {root}")
    if config.loso_sources and not (config.loso or config.loso_only):
        raise EyegradError("--loso-sources chooses rows of the leave-one-source-out table: add --loso or --loso-only")
    unknown = sorted(set(config.loso_sources) - set(config.sources))
    if unknown:
        raise EyegradError(f"--loso-sources names no source of --data: {', '.join(unknown)} "
                           f"(the sources: {', '.join(config.sources)})")
    weighted = sorted(set(config.source_weight_map) - set(config.sources))
    if weighted:
        raise EyegradError(f"--source-weight names no source of --data: {', '.join(weighted)} "
                           f"(the sources: {', '.join(config.sources)})")
    show_progress()
    from .experiment import train_and_report  # TensorFlow is imported only here

    train_and_report(config)
    return 0
