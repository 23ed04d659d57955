"""`eyegrad train`: fit student (and teacher), report per source, leave-one-source-out."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict

import numpy as np

from eyegrad.runtime.features import STUDENT_GEOMETRY
from eyegrad.runtime.metrics import binary_report, roc_auc

from .cache import CONTEXT_GEOMETRY, DEFAULT_CACHE
from .data import source_name
from .loop import TrainConfig, fit
from .models import build_student, build_teacher, model_size
from .reports import markdown_table, per_source, plot_confusion, plot_history, plot_roc
from .run import TEACHER_GEOMETRY, load_crops, load_samples, prepare, run_metadata, save_run, split_crops, split_summary
from .sequence import plain_batch
from .shortcuts import crop_scorer, jpeg_shortcut_report


def config_from(args: argparse.Namespace, epochs: int) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=args.batch_size, learning_rate=args.lr,
                       sbi_rate=args.sbi_rate, seed=args.seed, augment=getattr(args, "augment", "strong"),
                       average_last=getattr(args, "average_last", 0))


#: Columns of the leave-one-source-out table (loso.md and the run's report).
LOSO_COLUMNS = ("n", "accuracy", "auc", "real_pass_rate", "val_auc")


def leave_one_source_out(args: argparse.Namespace, roots, log) -> Dict[str, Dict]:
    """Train without each source in turn and test on all of it.

    Each row also gives ``val_auc``: the run's ROC-AUC on the validation split of the sources it
    trained on. Near 0.5 the run learned nothing, and its held-out figures mean nothing."""
    sources = sorted({source_name(Path(r)) for r in roots})
    samples = load_samples(roots, args.limit, args.seed)
    crops = load_crops(samples, args.cache or DEFAULT_CACHE, args.workers, args.frames_every, args.frames_max)
    table = {}
    for src in sources:
        data, held = split_crops(crops, samples, args.val_fraction, args.seed, holdout=src, sbi_only=args.sbi_only)
        if held is None or len(held.labels) == 0 or len(data.train.labels) == 0:
            continue
        log(f"--- leave out {src}: train {len(data.train.labels)}, test {len(held.labels)}")
        model, _, val_pred = fit(build_student, STUDENT_GEOMETRY, data.train, data.val,
                                 config_from(args, args.loso_epochs), Path(args.out) / "loso" / src,
                                 data.real_only_sources, log)
        pred = model.predict(plain_batch(held, CONTEXT_GEOMETRY, STUDENT_GEOMETRY), batch_size=256,
                             verbose=0).reshape(-1)
        row = binary_report(held.labels, pred)
        row["real_pass_rate"] = float((pred[held.labels == 0] < 0.5).mean()) if (held.labels == 0).any() else None
        row["val_auc"] = roc_auc(data.val.labels, val_pred)
        table[src] = row
    return table


def loso_report(args: argparse.Namespace, roots, log=print) -> Dict[str, Dict]:
    """Run the leave-one-source-out table and write loso.md and loso.json into --out."""
    out = Path(args.out)
    table = leave_one_source_out(args, roots, log)
    text = markdown_table(table, LOSO_COLUMNS, "held-out source")
    out.mkdir(parents=True, exist_ok=True)
    (out / "loso.md").write_text(text + "\n")
    (out / "loso.json").write_text(json.dumps(table, indent=1, default=float))
    log(text)
    return table


def train_and_report(args: argparse.Namespace) -> Dict:
    out = Path(args.out)
    roots = [Path(r) for r in args.data]
    log = print
    if getattr(args, "loso_only", False):
        return {"loso": loso_report(args, roots, log)}
    run = run_metadata({k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "handler"}, roots)
    data = prepare(roots, args.val_fraction, args.seed, args.limit, args.cache or DEFAULT_CACHE, args.workers,
                   args.frames_every, args.frames_max, args.sbi_only)
    run["split"] = split_summary(data)
    log(f"train {len(data.train.labels)} crops, validation {len(data.val.labels)} crops; "
        f"self-blended fakes for {data.real_only_sources or 'no real-only source'}")
    cfg = config_from(args, args.epochs)
    histories, preds, models = {}, {}, {}
    roles = [] if getattr(args, "no_student", False) else [("student", build_student, STUDENT_GEOMETRY)]
    if args.teacher:
        roles.append(("teacher", build_teacher, TEACHER_GEOMETRY))
    for role, builder, band in roles:
        log(f"=== {role}: {model_size(builder((band.height, band.width, 3)))}")
        epochs = (getattr(args, "teacher_epochs", None) or args.epochs) if role == "teacher" else args.epochs
        init = getattr(args, "init" if role == "student" else "teacher_init", None)
        model, hist, pred = fit(builder, band, data.train, data.val, cfg._replace(epochs=epochs), out,
                                data.real_only_sources, log, init)
        model.save_weights(str(out / f"{role}.weights.h5"))
        histories[role], preds[role], models[role] = hist, pred, model
        run[role] = {**model_size(model), "metrics": per_source(data.val, pred), "epochs_run": len(hist)}
        if "averaged_epochs" in hist[-1]:
            run[role]["weight_average"] = {k: hist[-1][k] for k in ("averaged_epochs", "averaged_val_auc",
                                                                    "kept_average")}
        log(markdown_table(run[role]["metrics"]))
    plot_history(histories, out / "training_curves.png")
    plot_roc(data.val.labels, preds, out / "roc.png")
    if "student" in models:
        student_checks(run, models["student"], preds["student"], data, out, log)
    if args.loso:
        run["loso"] = loso_report(args, roots, log)
    save_run(out, run)
    (out / "report.md").write_text(render_report(run))
    log(f"run written to {out}")
    return run


def student_checks(run: Dict, student, pred, data, out: Path, log) -> None:
    """Confusion matrix and the JPEG shortcut check of the student."""
    plot_confusion(run["student"]["metrics"]["all"], out / "confusion.png", "student, validation")
    scorer = crop_scorer(student, CONTEXT_GEOMETRY, STUDENT_GEOMETRY)
    biggest = max(set(data.val.sources), key=lambda s: int((data.val.sources == s).sum()))
    m = np.zeros(len(data.val.labels), bool)  # the JPEG shortcut lives in the largest set (mesonet_df)
    for label in (0, 1):
        idx = np.flatnonzero((data.val.sources == biggest) & (data.val.labels == label))
        m[idx[np.linspace(0, len(idx) - 1, min(200, len(idx))).astype(int)] if len(idx) else idx] = True
    if m.any():
        run["jpeg_shortcut"] = jpeg_shortcut_report(list(data.val.paths[m]), data.val.labels[m], pred[m], scorer)
        log(f"JPEG shortcut check: {run['jpeg_shortcut']}")


def render_report(run: Dict) -> str:
    parts = [f"# Training run {run['date']}", "", f"Command: `{run['command']}`", "",
             "Split (crops):", "```", json.dumps(run["split"], indent=1), "```"]
    for role in ("student", "teacher"):
        if role in run:
            parts += ["", f"## {role}: {run[role]['params']} parameters, {run[role]['macs']} multiply-adds",
                      "", markdown_table(run[role]["metrics"])]
    if "jpeg_shortcut" in run:
        parts += ["", "## JPEG shortcut check", "", "```", json.dumps(run["jpeg_shortcut"], indent=1), "```"]
    if "loso" in run:
        parts += ["", "## Leave one source out", "",
                  markdown_table(run["loso"], LOSO_COLUMNS, "held-out source")]
    return "\n".join(parts) + "\n"
