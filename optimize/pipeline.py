"""`eyegrad optimize`: distill -> prune -> quantize (PTQ, QAT) -> calibrate -> export.

Every variant is measured on the same validation crops of the training run, and
every .tflite variant is written with its metadata so benchmarks can load it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.features import STUDENT_GEOMETRY, BandGeometry
from eyegrad.runtime.metrics import binary_report
from eyegrad.train.augment import AUGMENT_PRESETS
from eyegrad.train.cache import CACHE_VERSION, CONTEXT_GEOMETRY, DEFAULT_CACHE
from eyegrad.train.loop import TrainConfig, seed_everything, train_model
from eyegrad.train.models import build_student, build_teacher
from eyegrad.train.reports import markdown_table
from eyegrad.train.run import SPLIT_VERSION, TEACHER_GEOMETRY, RunData, prepare, split_summary
from eyegrad.train.sequence import AugmentedBands, plain_batch, view_batches

from .calibrate import balanced_threshold, uncertain_band
from .distill import Distiller
from .export import builtin_op_names, convert, embed_metadata
from .metadata import VIEWS, ZOOMS, model_metadata
from .prune import UpdatePruningStep, prunable_copy, sparsity_of, strip
from .qat import quantize_aware_copy
from .variants import ensemble_row, measure_keras, measure_tflite

TABLE_COLUMNS = ("params", "sparsity", "size_bytes", "gzip_bytes", "accuracy", "auc", "invoke_ms_1thread")
MAX_MODEL_BYTES = 64 * 1024


def representative(data: RunData, n: int = 300, seed: int = 0) -> np.ndarray:
    """Plain features of a seeded subset of training crops, for int8 calibration."""
    idx = np.random.default_rng(seed).permutation(len(data.train.labels))[:n]
    return plain_batch(data.train.subset(np.sort(idx)), CONTEXT_GEOMETRY, STUDENT_GEOMETRY)


def copy_of(model, builder=build_student, band=STUDENT_GEOMETRY):
    fresh = builder((band.height, band.width, 3))
    fresh.set_weights(model.get_weights())
    return fresh


def run_data(run: Dict, workers: int = 0) -> RunData:
    """The train/validation crops of a training run (its run.json), as it split them.

    Raises when today's split differs from the run's (an older split version, or another face
    finder's crops): its validation crops could include crops its weights trained on."""
    a = run["args"]
    data = prepare([Path(p) for p in run["data"]], a["val_fraction"], a["seed"], a.get("limit"),
                   Path(a["cache"]) if a.get("cache") not in (None, "None") else DEFAULT_CACHE, workers,
                   a.get("frames_every", 10), a.get("frames_max", 20), bool(a.get("sbi_only")))
    if run.get("split") not in (None, split_summary(data)):
        made = run["split"].get("version", "split on crops, before files-v1")
        raise EyegradError(f"the run's train/validation split ({made}) differs from today's ({SPLIT_VERSION}, "
                           f"crops {CACHE_VERSION}): its validation would hold images it trained on; retrain it")
    return data


def calibration(data: RunData, pred: np.ndarray, target_precision: float) -> Dict:
    """Threshold, uncertain band and validation metrics of a model's validation scores."""
    y, sources = data.val.labels, data.val.sources
    threshold = balanced_threshold(y, pred)
    band = uncertain_band(y, pred, threshold, target_precision)
    metrics = {"validation": binary_report(y, pred, threshold),
               "validation_per_source": {src: binary_report(y[m], pred[m], threshold)
                                         for src in sorted(set(sources)) for m in [sources == src]}}
    return {"threshold": threshold, "band": band, "metrics": metrics}


def same_data_and_split(a: Dict, b: Dict) -> bool:
    """Whether two training records (a run.json, or a model's metadata ``training``) name the
    same data roots and the same train/validation split."""
    return a.get("split") == b.get("split") and a.get("data") == b.get("data")


def same_split_run(run_dir: Path, run: Dict) -> Dict:
    """The run.json of ``run_dir``, which must have trained on the same data and split as ``run``
    (a teacher trained on the student's validation images would leak them into its scores)."""
    path = Path(run_dir) / "run.json"
    if not path.exists():
        raise EyegradError(f"{run_dir} is not a training run (no run.json)")
    other = json.loads(path.read_text())
    if not same_data_and_split(other, run):
        raise EyegradError(f"{run_dir} trained on other data or another split than the student's run: "
                           "its teacher would have seen the student's validation images")
    return other


class Optimizer:
    """Holds a training run's data and models while the variants are made and measured."""

    def __init__(self, run_dir: Path, workers: int = 0, log=print, teacher_run: Optional[Path] = None,
                 student_weights: Optional[Path] = None) -> None:
        self.run_dir, self.log = Path(run_dir), log
        self.run = json.loads((self.run_dir / "run.json").read_text())
        self.teacher_run = Path(teacher_run or run_dir)
        self.teacher_run_info = self.run if teacher_run is None else same_split_run(self.teacher_run, self.run)
        a = self.run["args"]
        self.data = run_data(self.run, workers)
        self.cfg = TrainConfig(epochs=a["epochs"], batch_size=a["batch_size"], learning_rate=a["lr"],
                               sbi_rate=a["sbi_rate"], seed=a["seed"], augment=a.get("augment", "strong"))
        # every variant is scored like the runtime does: the mean over the views of metadata.py
        self.val_views = view_batches(self.data.val, CONTEXT_GEOMETRY, STUDENT_GEOMETRY, VIEWS, ZOOMS)
        self.val_x = self.val_views[0]  # the zoom-1 band: early stopping while fine-tuning
        self.val_y = self.data.val.labels
        self.rep = representative(self.data)
        self.student = build_student((STUDENT_GEOMETRY.height, STUDENT_GEOMETRY.width, 3))
        self.student.load_weights(str(student_weights or self.run_dir / "student.weights.h5"))
        self.teacher = None
        # the band the teacher was trained on (older runs used another context)
        self.teacher_geometry = BandGeometry.from_dict(self.teacher_run_info.get("teacher_geometry",
                                                                                 TEACHER_GEOMETRY.to_dict()))
        if (self.teacher_run / "teacher.weights.h5").exists():
            self.teacher = build_teacher((self.teacher_geometry.height, self.teacher_geometry.width, 3))
            self.teacher.load_weights(str(self.teacher_run / "teacher.weights.h5"))

    def sequence(self, bands: Sequence = (STUDENT_GEOMETRY,)) -> AugmentedBands:
        return AugmentedBands(self.data.train, CONTEXT_GEOMETRY, list(bands), self.cfg.batch_size,
                              self.cfg.sbi_rate, self.data.real_only_sources, self.cfg.seed,
                              AUGMENT_PRESETS[self.cfg.augment])

    def distill(self, epochs: int, alpha: float = 0.5, temperature: float = 3.0):
        """The trained student, fine-tuned ``epochs`` more on the hard labels (weight ``alpha``)
        and the teacher's soft targets. ``alpha=1`` is the same fine-tune without the teacher:
        the control that tells the teacher's share of a gain from that of the extra epochs.
        The soft targets are the ensemble of the teacher and the trained student (frozen)."""
        seed_everything(self.cfg.seed)
        student = copy_of(self.student)
        distiller = Distiller(student, self.teacher, temperature, alpha, band_teacher=copy_of(self.student))
        train_model(distiller, self.sequence([STUDENT_GEOMETRY, self.teacher_geometry]), self.val_x, self.val_y,
                    self.cfg._replace(epochs=epochs), self.run_dir / "optimize", self.log)
        return student

    def prune(self, model, sparsity: float, epochs: int):
        """Fine-tune a copy of ``model`` while pruning to ``sparsity``; pruning wrappers stripped."""
        seq = self.sequence()
        pruned = prunable_copy(copy_of(model), sparsity, end_step=int(len(seq) * epochs * 0.7))
        pruned._name = f"pruned{int(sparsity * 100)}"
        train_model(pruned, seq, self.val_x, self.val_y,
                    self.cfg._replace(epochs=epochs, learning_rate=self.cfg.learning_rate / 5, patience=epochs),
                    self.run_dir / "optimize", self.log, [UpdatePruningStep()], restore_best=False)
        return strip(pruned)

    def qat(self, model, epochs: int, preserve_sparsity: bool):
        """Quantization-aware fine-tuning of a copy of ``model``."""
        q = quantize_aware_copy(copy_of(model), preserve_sparsity)
        q._name = "qat"
        train_model(q, self.sequence(), self.val_x, self.val_y,
                    self.cfg._replace(epochs=epochs, learning_rate=self.cfg.learning_rate / 10, patience=epochs),
                    self.run_dir / "optimize", self.log)
        return q

    def tflite_variant(self, name: str, model, mode: str, params: int, sparsity: float) -> Dict:
        raw = convert(model, mode, self.rep)
        meta = model_metadata(STUDENT_GEOMETRY, 0.5, {"uncertain_band": [0.5, 0.5]}, name, {}, self.run,
                              sparsity=sparsity)
        row = measure_tflite(name, embed_metadata(raw, meta), self.val_views, self.val_y, params, sparsity)
        row["raw"] = raw
        return row


def check_size(variant: str, size: int) -> None:
    """A one-line error when an int8 export (with its metadata) exceeds MAX_MODEL_BYTES."""
    if size > MAX_MODEL_BYTES:
        raise EyegradError(f"{variant} is {size} bytes, over the {MAX_MODEL_BYTES} byte limit "
                           f"of the shipped model: make the student smaller (train/models.py)")


def optimize(run_dir: Path, out: Path, variants_dir: Path, sparsities: Sequence[float] = (0.5, 0.7),
             distill_epochs: int = 0, prune_epochs: int = 4, qat_epochs: int = 3, workers: int = 0,
             target_precision: float = 0.95, log=print, teacher_run: Optional[Path] = None,
             student_weights: Optional[Path] = None, command: Optional[str] = None) -> List[Dict]:
    """Make, measure and export every variant; returns the table rows."""
    opt = Optimizer(run_dir, workers, log, teacher_run, student_weights)
    rows = []
    if opt.teacher is not None:
        teacher_views = view_batches(opt.data.val, CONTEXT_GEOMETRY, opt.teacher_geometry, VIEWS, ZOOMS)
        rows.append(measure_keras("teacher fp32", opt.teacher, teacher_views, opt.val_y))
    rows.append(measure_keras("student fp32", opt.student, opt.val_views, opt.val_y))
    fp32 = {"student": (opt.student, rows[-1])}
    if opt.teacher is not None:
        rows.append(ensemble_row("teacher + student (soft targets)", rows[-2:], opt.val_y))
        epochs = distill_epochs or opt.cfg.epochs
        for name, alpha in (("continued", 1.0), ("distilled", 0.5)):
            model = opt.distill(epochs, alpha)
            rows.append(measure_keras(f"{name} fp32", model, opt.val_views, opt.val_y))
            fp32[name] = (model, rows[-1])
    base_name = max(fp32, key=lambda name: fp32[name][1]["auc"])
    best = fp32[base_name][0]
    (opt.run_dir / "optimize").mkdir(exist_ok=True)
    best.save_weights(str(opt.run_dir / "optimize" / f"{base_name}.weights.h5"))  # to train on from it
    log(f"best fp32 student: {base_name}")
    candidates = [opt.tflite_variant(f"{base_name} float16", best, "float16", best.count_params(), 0.0),
                  opt.tflite_variant(f"{base_name} dynamic-range", best, "dynamic", best.count_params(), 0.0),
                  opt.tflite_variant(f"{base_name} PTQ int8", best, "int8", best.count_params(), 0.0)]
    check_size(candidates[-1]["variant"], candidates[-1]["size_bytes"])  # all int8 variants are this size
    qat = opt.qat(best, qat_epochs, preserve_sparsity=False)
    candidates.append(opt.tflite_variant(f"{base_name} QAT int8", qat, "int8", best.count_params(), 0.0))
    for s in sparsities:
        pruned = opt.prune(best, s, prune_epochs)
        sp = sparsity_of(pruned)["prunable"]
        rows.append(measure_keras(f"pruned {int(s * 100)}%", pruned, opt.val_views, opt.val_y, sp))
        candidates.append(opt.tflite_variant(f"pruned {int(s * 100)}% PTQ int8", pruned, "int8",
                                             pruned.count_params(), sp))
        pqat = opt.qat(pruned, qat_epochs, preserve_sparsity=True)
        candidates.append(opt.tflite_variant(f"pruned {int(s * 100)}% QAT int8", pqat, "int8",
                                             pruned.count_params(), sp))
    rows.extend(candidates)
    int8 = [c for c in candidates if "int8" in c["variant"]]
    final = max(int8, key=lambda c: (round(c["auc"], 3), c["accuracy"]))
    log(f"final: {final['variant']}")
    final_bytes = export_final(opt, final, out, target_precision, command)
    final_row = {k: v for k, v in final.items() if k != "raw"}
    rows.append({**final_row, "variant": f"final ({final['variant']})", "size_bytes": len(final_bytes),
                 "file": os.path.relpath(out, variants_dir)})
    write_variants(rows, variants_dir, opt)
    return rows


def export_final(opt: Optimizer, final: Dict, out: Path, target_precision: float,
                 command: Optional[str] = None) -> bytes:
    """Calibrate the threshold and uncertain band on validation and write the shipped model."""
    cal = calibration(opt.data, final["pred"], target_precision)
    threshold, band = cal["threshold"], cal["band"]
    teacher = {"params": int(opt.teacher.count_params()), "geometry": opt.teacher_geometry.to_dict(),
               "command": opt.teacher_run_info.get("command")} if opt.teacher is not None else None
    meta = model_metadata(STUDENT_GEOMETRY, threshold, band, final["variant"], cal["metrics"], opt.run, teacher,
                          final["sparsity"], input_quantization={"dtype": "int8"}, optimize_command=command)
    data = embed_metadata(final["raw"], meta)
    check_size(final["variant"], len(data))
    ops = set(builtin_op_names(data))
    if any(o.startswith("CUSTOM") for o in ops) or "FLEX" in " ".join(ops):
        raise RuntimeError(f"export has non-builtin ops: {sorted(ops)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    opt.log(f"wrote {out} ({len(data)} bytes), threshold {threshold:.3f}, band {band['uncertain_band']}")
    return data


def write_variants(rows: List[Dict], variants_dir: Path, opt: Optimizer) -> None:
    """Each .tflite variant, variants.json (manifest and table) and the markdown table."""
    variants_dir.mkdir(parents=True, exist_ok=True)
    manifest = []
    for r in rows:
        entry = {k: v for k, v in r.items() if k not in ("pred", "raw")}
        entry["file"] = r.get("file")
        if "raw" in r:
            fname = r["variant"].replace(" ", "_").replace("%", "pct").replace("(", "").replace(")", "") + ".tflite"
            meta = model_metadata(STUDENT_GEOMETRY, 0.5, {"uncertain_band": [0.5, 0.5]}, r["variant"],
                                  {"validation_auc": r["auc"], "validation_accuracy": r["accuracy"]}, opt.run,
                                  sparsity=r["sparsity"])
            (variants_dir / fname).write_bytes(embed_metadata(r["raw"], meta))
            entry["file"] = fname
        manifest.append(entry)
    (variants_dir / "variants.json").write_text(json.dumps(manifest, indent=1, default=float))
    table = markdown_table({m["variant"]: m for m in manifest}, TABLE_COLUMNS, "variant")
    (variants_dir / "variants.md").write_text(table + "\n")
    opt.log(table)
