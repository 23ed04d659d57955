"""`eyegrad train`: fit student (and teacher), report per source, leave-one-source-out."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from eyegrad.runtime.features import BandGeometry

from .cache import CONTEXT_GEOMETRY, DEFAULT_CACHE
from .config import RunConfig, save_run
from .loop import TrainSettings, fit
from .loso import loso_report
from .models import build_teacher, model_size, student_builder
from .reports import markdown_table, per_source, plot_confusion, plot_history, plot_roc, render_report
from .run import TEACHER_GEOMETRY, RunData, prepare, run_metadata, split_summary, student_geometry
from .shortcuts import crop_scorer, jpeg_shortcut_report
from .stress import stress_view
from .tf import keras

logger = logging.getLogger(__name__)


class Role(NamedTuple):
    """One model a run trains: its builder, band, epochs and the weights it starts from."""

    name: str
    builder: Callable[[Tuple[int, int, int]], keras.Model]
    band: BandGeometry
    epochs: int
    init: Optional[Path]


def roles(config: RunConfig) -> List[Role]:
    """The student (unless ``no_student``), then the teacher (with ``teacher``)."""
    band = student_geometry(config)
    out = [] if config.no_student else [Role("student", student_builder(band, config.eye_consistency), band,
                                             config.epochs, config.init)]
    if config.teacher:
        out.append(Role("teacher", build_teacher, TEACHER_GEOMETRY, config.teacher_epochs or config.epochs,
                        config.teacher_init))
    return out


def train_and_report(config: RunConfig) -> Dict:
    """Train the run's models; write their weights, run.json, report.md and the plots into ``config.out``."""
    out = config.out
    run = run_metadata(config)
    if config.loso_only:  # run.json records the command and settings of the table, and the table
        run["loso"] = loso_report(config)
        save_run(out, run)
        return run
    data = prepare(config)
    run["split"] = split_summary(data)
    logger.info("train %d crops, validation %d crops; self-blended fakes for %s", len(data.train.labels),
                len(data.val.labels), ", ".join(data.real_only_sources) or "no real-only source")
    histories, preds, models = {}, {}, {}
    trained = roles(config)
    bands = {role.name: role.band for role in trained}
    for role in trained:
        logger.info("=== %s: %s", role.name, model_size(role.builder((role.band.height, role.band.width, 3))))
        model, hist, pred = fit(role.builder, role.band, data.train, data.val,
                                TrainSettings.for_run(config, role.epochs), out, data.real_only_sources, role.init)
        model.save_weights(str(out / f"{role.name}.weights.h5"))
        histories[role.name], preds[role.name], models[role.name] = hist, pred, model
        run[role.name] = {**model_size(model), "metrics": per_source(data.val, pred), "epochs_run": len(hist)}
        if "averaged_epochs" in hist[-1]:
            run[role.name]["weight_average"] = {k: hist[-1][k] for k in ("averaged_epochs", "averaged_val_auc",
                                                                         "kept_average")}
        logger.info("%s", markdown_table(run[role.name]["metrics"]))
    for name, report in stress_view(data.val, {name: (models[name], band) for name, band in bands.items()},
                                    config.cache or DEFAULT_CACHE, config.workers).items():
        run[name]["stress"] = report
    plot_history(histories, out / "training_curves.png")
    plot_roc(data.val.labels, preds, out / "roc.png")
    if "student" in models:
        student_checks(run, models["student"], bands["student"], preds["student"], data, out)
    if config.loso:
        run["loso"] = loso_report(config)
    save_run(out, run)
    (out / "report.md").write_text(render_report(run))
    logger.info("run written to %s", out)
    return run


def student_checks(run: Dict, student: keras.Model, band: BandGeometry, pred: np.ndarray, data: RunData,
                   out: Path) -> None:
    """Confusion matrix and the JPEG shortcut check of the student (on ``band``)."""
    plot_confusion(run["student"]["metrics"]["all"], out / "confusion.png", "student, validation")
    scorer = crop_scorer(student, CONTEXT_GEOMETRY, band)
    biggest = max(set(data.val.sources), key=lambda s: int((data.val.sources == s).sum()))
    m = np.zeros(len(data.val.labels), bool)  # the JPEG shortcut lives in the largest set (mesonet_df)
    for label in (0, 1):
        idx = np.flatnonzero((data.val.sources == biggest) & (data.val.labels == label))
        m[idx[np.linspace(0, len(idx) - 1, min(200, len(idx))).astype(int)] if len(idx) else idx] = True
    if m.any():
        run["jpeg_shortcut"] = jpeg_shortcut_report(list(data.val.paths[m]), data.val.labels[m], pred[m], scorer)
        logger.info("JPEG shortcut check: %s", run["jpeg_shortcut"])
