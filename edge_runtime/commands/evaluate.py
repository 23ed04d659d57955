"""Metrics of a model on a folder holding real/ and fake/ images or videos (one verdict per file)."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Dict, List, Tuple

from ..datasets import MEDIA_SUFFIXES, labelled_files
from ..detector import Detector
from ..errors import EyegradError
from ..metrics import binary_report, json_ready
from ..progress import Progress
from .common import add_model_args, add_video_args, detector_for


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="folder with real/ and fake/ (or Real/Fake, df/, training_real/...)")
    add_model_args(p)
    p.add_argument("--json", metavar="OUT", help="write the report (the evaluate contract of docs/api.md) here")
    add_video_args(p)


def evaluate(detector: Detector, files: List[Tuple[Path, int]], label: str = "evaluate") -> Dict:
    """Run the detector over labelled files and build the evaluate report."""
    labels, scores, decided, per_image = [], [], [], []
    bar = Progress(len(files), label)
    for path, y in files:
        r = detector.detect(str(path))
        labels.append(y)
        scores.append(0.5 if r.p_fake is None else r.p_fake)
        decided.append(r.p_fake is not None)
        per_image.append({**r.to_dict(), "label": "fake" if y else "real"})
        bar.update()
    bar.close()
    report = binary_report(labels, scores, detector.model.threshold, decided)
    report["model"] = str(detector.model.path)
    report["per_image"] = per_image
    return report


def _metric(value: float) -> str:
    """A metric to 4 places, or "-" where the data cannot give it (NaN: one class only)."""
    return "-" if math.isnan(value) else f"{value:.4f}"


def format_report(r: Dict) -> str:
    c = r["confusion"]
    return "\n".join([
        f"files {r['n']}  coverage {r['coverage']:.3f}",
        f"accuracy {_metric(r['accuracy'])}  balanced accuracy {_metric(r['balanced_accuracy'])}  "
        f"ROC-AUC {_metric(r['auc'])}",
        f"precision {r['precision']:.4f}  recall {r['recall']:.4f}  F1 {r['f1']:.4f}",
        "confusion (fake = positive):",
        "              pred real  pred fake",
        f"  true real   {c['tn']:9d}  {c['fp']:9d}",
        f"  true fake   {c['fn']:9d}  {c['tp']:9d}",
    ])


def run(args: argparse.Namespace) -> int:
    try:
        files = labelled_files(Path(args.dir), tuple(MEDIA_SUFFIXES))
    except (ValueError, OSError) as exc:
        raise EyegradError(str(exc)) from None
    if not files:
        raise EyegradError(f"no images or videos under {args.dir}")
    report = evaluate(detector_for(args), files)
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(json_ready(report), indent=1, allow_nan=False))
        print(f"report written to {args.json}")
    return 0
