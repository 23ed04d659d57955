"""The leave-one-source-out table: how a student does on a source it never trained on."""
from __future__ import annotations

import json
import logging
from typing import Dict

import numpy as np

from eyegrad.runtime.metrics import binary_report, json_ready, roc_auc

from .cache import CONTEXT_GEOMETRY
from .config import RunConfig
from .loop import TrainSettings, fit
from .models import student_builder
from .reports import LOSO_COLUMNS, markdown_table
from .run import run_crops, split_crops, student_geometry
from .sequence import plain_batch

logger = logging.getLogger(__name__)


def held_out_row(labels: np.ndarray, pred: np.ndarray, val_labels: np.ndarray, val_pred: np.ndarray) -> Dict:
    """One row of the table: metrics on a held-out source (``labels``, ``pred``).

    A source of one class (real only, fake only) is scored for ``accuracy`` and ``auc`` together
    with the other class of the run's validation split (``paired``: how many; those are faces
    the run never trained on either). ``fake_catch_rate`` and ``real_pass_rate`` are the held-out
    source's own fakes called fake and reals called real at 0.5; ``val_auc``: the run's ROC-AUC
    on its validation split (near 0.5 the run learned nothing, and the row means nothing)."""
    n, paired = len(labels), 0
    if len(set(labels.tolist())) == 1:
        other = val_labels != labels[0]
        paired = int(other.sum())
        labels, pred = np.concatenate([labels, val_labels[other]]), np.concatenate([pred, val_pred[other]])
    row = binary_report(labels, pred)
    own_fakes, own_reals = pred[:n][labels[:n] == 1], pred[:n][labels[:n] == 0]
    row.update(n=n, paired=paired,
               fake_catch_rate=float((own_fakes >= 0.5).mean()) if len(own_fakes) else None,
               real_pass_rate=float((own_reals < 0.5).mean()) if len(own_reals) else None,
               val_auc=roc_auc(val_labels, val_pred))
    return row


def leave_one_source_out(config: RunConfig) -> Dict[str, Dict]:
    """Train without each source in turn (``config.loso_epochs``; only ``config.loso_sources`` if
    given) and test on all of it (``held_out_row``)."""
    samples, crops = run_crops(config)
    settings = TrainSettings.for_run(config, config.loso_epochs)
    band = student_geometry(config)
    table = {}
    for src in config.held_out_sources:
        data, held = split_crops(crops, samples, config.val_fraction, config.seed, holdout=src,
                                 sbi_only=config.sbi_only, split=config.split)
        if held is None or len(held.labels) == 0 or len(data.train.labels) == 0:
            continue
        logger.info("--- leave out %s: train %d, test %d", src, len(data.train.labels), len(held.labels))
        model, _, val_pred = fit(student_builder(band, config.eye_consistency), band, data.train, data.val, settings,
                                 config.out / "loso" / src, data.real_only_sources)
        pred = model.predict(plain_batch(held, CONTEXT_GEOMETRY, band), batch_size=256,
                             verbose=0).reshape(-1)
        table[src] = held_out_row(held.labels, pred, data.val.labels, val_pred)
    return table


def loso_report(config: RunConfig) -> Dict[str, Dict]:
    """Run the leave-one-source-out table and write loso.md and loso.json into ``config.out``."""
    table = leave_one_source_out(config)
    text = markdown_table(table, LOSO_COLUMNS, "held-out source")
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "loso.md").write_text(text + "\n")
    (config.out / "loso.json").write_text(json.dumps(json_ready(table), indent=1, default=float))
    logger.info("%s", text)
    return table
