"""Int8 models scored on one training run's validation, source by source.

    python research/compare_on_run.py RUN MODEL_A MODEL_B [MODEL ...]

The run's split is remade (``optimize.rundata.run_data``); both models are scored as the
runtime scores (their views). ``dfdc`` is cut into its first 1,200 groups and the 600 added
later; ``t2i_portraits`` and ``unsplash`` (fakes only, reals only) are scored together; other
one-class sources are paired with the other class of the whole validation. A model that trained
on some of these files (another run's split) is favoured where its split differs: say so
beside the figures.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
from recalibrate_shipped import OLD_DFDC_PAIRS  # research/, beside this script

from eyegrad.optimize.recalibrate import view_scores
from eyegrad.optimize.rundata import run_data
from eyegrad.optimize.variants import load_tflite
from eyegrad.runtime.metrics import binary_report
from eyegrad.train.cache import CropSet
from eyegrad.train.config import load_run
from eyegrad.train.groups import pairs_of


def comparison_sources(sources: np.ndarray, paths: np.ndarray, dfdc: Path) -> np.ndarray:
    """Each crop's row in the table: its source, with dfdc cut in old and new groups and the portraits together."""
    added = {name for pair in pairs_of(dfdc)[OLD_DFDC_PAIRS:] for name in pair}
    rows = np.array([("dfdc, 600 added" if Path(p).name in added else "dfdc, first 1200") if s == "dfdc" else s
                     for s, p in zip(sources, paths)])
    return np.where(np.isin(rows, ["t2i_portraits", "unsplash"]), "t2i_portraits vs unsplash", rows)


def print_table(title: str, labels: np.ndarray, rows: np.ndarray, scores: Dict[str, np.ndarray]) -> None:
    """A markdown table: for each row of ``rows`` (and "all"), its size and the ROC-AUC of each of
    ``scores``; a one-class row is scored against the other class of the whole validation."""
    print(f"| {title} | n | " + " | ".join(scores) + " |\n" + "|---" * (len(scores) + 2) + "|")
    for row in [*sorted(set(rows.tolist())), "all"]:
        mask = np.ones(len(rows), bool) if row == "all" else rows == row
        n = int(mask.sum())
        if len(set(labels[mask].tolist())) < 2:  # one class: against the other class of the rest
            mask = mask | (labels != labels[mask][0])
        aucs = [binary_report(labels[mask], p[mask])["auc"] for p in scores.values()]
        print(f"| {row} | {n} | " + " | ".join(f"{a:.3f}" for a in aucs) + " |")


def validation_rows(run_dir: Path) -> Tuple[CropSet, np.ndarray]:
    """The validation crops of ``run_dir``'s split, remade, and each crop's row (``comparison_sources``)."""
    run = load_run(run_dir)
    val = run_data(run).val
    dfdc_root = next(Path(r) for r in run.config.data if Path(r).name == "dfdc")
    return val, comparison_sources(val.sources, val.paths, dfdc_root)


def main() -> int:
    run_dir, models = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    val, rows = validation_rows(run_dir)
    scores = {str(path): view_scores(load_tflite(path.read_bytes()), val) for path in models}
    print_table(f"validation of {run_dir}", val.labels, rows, scores)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
