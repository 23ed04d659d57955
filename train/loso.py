"""The leave-one-source-out table: how a student does on a source it never trained on."""
from __future__ import annotations

import json
import logging
from typing import Dict

from eyegrad.runtime.features import STUDENT_GEOMETRY
from eyegrad.runtime.metrics import binary_report, roc_auc

from .cache import CONTEXT_GEOMETRY
from .config import RunConfig
from .data import source_name
from .loop import TrainSettings, fit
from .models import build_student
from .reports import LOSO_COLUMNS, markdown_table
from .run import run_crops, split_crops
from .sequence import plain_batch

logger = logging.getLogger(__name__)


def leave_one_source_out(config: RunConfig) -> Dict[str, Dict]:
    """Train without each source in turn (``config.loso_epochs``) and test on all of it.

    Each row also gives ``val_auc``: the run's ROC-AUC on the validation split of the sources it
    trained on. Near 0.5 the run learned nothing, and its held-out figures mean nothing."""
    samples, crops = run_crops(config)
    settings = TrainSettings.for_run(config, config.loso_epochs)
    table = {}
    for src in sorted({source_name(root) for root in config.data}):
        data, held = split_crops(crops, samples, config.val_fraction, config.seed, holdout=src,
                                 sbi_only=config.sbi_only)
        if held is None or len(held.labels) == 0 or len(data.train.labels) == 0:
            continue
        logger.info("--- leave out %s: train %d, test %d", src, len(data.train.labels), len(held.labels))
        model, _, val_pred = fit(build_student, STUDENT_GEOMETRY, data.train, data.val, settings,
                                 config.out / "loso" / src, data.real_only_sources)
        pred = model.predict(plain_batch(held, CONTEXT_GEOMETRY, STUDENT_GEOMETRY), batch_size=256,
                             verbose=0).reshape(-1)
        row = binary_report(held.labels, pred)
        row["real_pass_rate"] = float((pred[held.labels == 0] < 0.5).mean()) if (held.labels == 0).any() else None
        row["val_auc"] = roc_auc(data.val.labels, val_pred)
        table[src] = row
    return table


def loso_report(config: RunConfig) -> Dict[str, Dict]:
    """Run the leave-one-source-out table and write loso.md and loso.json into ``config.out``."""
    table = leave_one_source_out(config)
    text = markdown_table(table, LOSO_COLUMNS, "held-out source")
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "loso.md").write_text(text + "\n")
    (config.out / "loso.json").write_text(json.dumps(table, indent=1, default=float))
    logger.info("%s", text)
    return table
