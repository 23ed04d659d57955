"""`eyegrad optimize`: distill -> prune -> quantize (PTQ, QAT) -> calibrate -> export.

Every variant is measured on the same validation crops of the training run, and
every .tflite variant is written with its metadata so benchmarks can load it.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from eyegrad.runtime.features import BandGeometry
from eyegrad.train.augment import AUGMENT_PRESETS
from eyegrad.train.cache import CONTEXT_GEOMETRY
from eyegrad.train.config import load_run
from eyegrad.train.loop import TrainSettings, seed_everything, train_model
from eyegrad.train.models import build_teacher, student_builder
from eyegrad.train.reports import markdown_table
from eyegrad.train.run import TEACHER_GEOMETRY, RunData, student_geometry
from eyegrad.train.sequence import AugmentedBands, plain_batch, view_batches
from eyegrad.train.tf import keras

from .calibrate import BandTargets, calibration
from .config import OptimizeConfig, save_optimize
from .distill import Distiller
from .export import builtin_op_names, check_size, convert, embed_metadata
from .metadata import ZOOMS, model_metadata
from .prune import UpdatePruningStep, prunable_copy, sparsity_of, strip
from .qat import quantize_aware_copy
from .rundata import run_data, same_split_run
from .variants import ensemble_row, measure_keras, measure_tflite

logger = logging.getLogger(__name__)

TABLE_COLUMNS = ("params", "sparsity", "size_bytes", "gzip_bytes", "accuracy", "auc", "invoke_ms_1thread")
#: A table row: a variant's measurements, with its scores (``pred``) and .tflite bytes (``raw``) until written.
Row = Dict[str, Any]


def representative(data: RunData, band: BandGeometry, n: int = 300, seed: int = 0) -> np.ndarray:
    """Plain features on ``band`` of a seeded subset of training crops, for int8 calibration."""
    idx = np.random.default_rng(seed).permutation(len(data.train.labels))[:n]
    return plain_batch(data.train.subset(np.sort(idx)), CONTEXT_GEOMETRY, band)


class Optimizer:
    """Holds a training run's data and models while the variants are made and measured.

    Fine-tuning uses the run's own settings (``TrainSettings.for_run``) for the epochs it is given."""

    def __init__(self, config: OptimizeConfig) -> None:
        self.run_dir = config.run
        self.run = load_run(config.run)
        self.teacher_run = config.teacher or config.run
        self.teacher_record = (self.run.record if config.teacher is None
                               else same_split_run(config.teacher, self.run.record))
        self.data = run_data(self.run, config.workers)
        self.settings = TrainSettings.for_run(self.run.config)
        self.band = student_geometry(self.run.config)
        # every variant is scored like the runtime does: the mean over the views asked (band first)
        self.views = config.views
        self.val_views = view_batches(self.data.val, CONTEXT_GEOMETRY, self.band, self.views, ZOOMS)
        self.val_x = self.val_views[0]  # the zoom-1 band: early stopping while fine-tuning
        self.val_y = self.data.val.labels
        self.rep = representative(self.data, self.band)
        self.build_student = student_builder(self.band, self.run.config.eye_consistency)
        self.student = self.build_student((self.band.height, self.band.width, 3))
        self.student.load_weights(str(config.student_weights))
        self.teacher = None
        # the band the teacher was trained on (older runs used another context)
        self.teacher_geometry = BandGeometry.from_dict(self.teacher_record.get("teacher_geometry",
                                                                               TEACHER_GEOMETRY.to_dict()))
        if (self.teacher_run / "teacher.weights.h5").exists():
            self.teacher = build_teacher((self.teacher_geometry.height, self.teacher_geometry.width, 3))
            self.teacher.load_weights(str(self.teacher_run / "teacher.weights.h5"))

    def copy(self, model: keras.Model) -> keras.Model:
        """A fresh student of the run's architecture with ``model``'s weights (``model`` is left as it is)."""
        fresh = self.build_student((self.band.height, self.band.width, 3))
        fresh.set_weights(model.get_weights())
        return fresh

    def sequence(self, bands: Sequence[BandGeometry] = ()) -> AugmentedBands:
        """Augmented training batches of ``bands`` (default: the student's), made as the run made them."""
        s = self.settings
        return AugmentedBands(self.data.train, CONTEXT_GEOMETRY, list(bands) or [self.band], s.batch_size, s.sbi_rate,
                              self.data.real_only_sources, s.seed, AUGMENT_PRESETS[s.augment], s.paired_batches,
                              dict(s.source_weights))

    def fine_tune(self, model: keras.Model, seq: AugmentedBands, settings: TrainSettings, **kw: Any) -> None:
        """``train_model``, early-stopped on the zoom-1 validation band; histories go to RUN/optimize."""
        train_model(model, seq, self.val_x, self.val_y, settings, self.run_dir / "optimize", **kw)

    def distill(self, epochs: int, alpha: float = 0.5, temperature: float = 3.0) -> keras.Model:
        """The trained student, fine-tuned ``epochs`` more on the hard labels (weight ``alpha``)
        and the teacher's soft targets. ``alpha=1`` is the same fine-tune without the teacher:
        the control that tells the teacher's share of a gain from that of the extra epochs.
        The soft targets are the ensemble of the teacher and the trained student (frozen)."""
        seed_everything(self.settings.seed)
        student = self.copy(self.student)
        distiller = Distiller(student, self.teacher, temperature, alpha, band_teacher=self.copy(self.student))
        self.fine_tune(distiller, self.sequence([self.band, self.teacher_geometry]),
                       dataclasses.replace(self.settings, epochs=epochs))
        return student

    def prune(self, model: keras.Model, sparsity: float, epochs: int) -> keras.Model:
        """Fine-tune a copy of ``model`` while pruning to ``sparsity``; pruning wrappers stripped.

        No weight averaging: weights of epochs with different pruning masks average to a dense model."""
        seq = self.sequence()
        pruned = prunable_copy(self.copy(model), sparsity, end_step=int(len(seq) * epochs * 0.7))
        pruned._name = f"pruned{int(sparsity * 100)}"
        settings = dataclasses.replace(self.settings, epochs=epochs, learning_rate=self.settings.learning_rate / 5,
                                       patience=epochs, average_last=0)
        self.fine_tune(pruned, seq, settings, extra_callbacks=[UpdatePruningStep()], restore_best=False)
        return strip(pruned)

    def qat(self, model: keras.Model, epochs: int, preserve_sparsity: bool) -> keras.Model:
        """Quantization-aware fine-tuning of a copy of ``model``."""
        q = quantize_aware_copy(self.copy(model), preserve_sparsity)
        q._name = "qat"
        self.fine_tune(q, self.sequence(), dataclasses.replace(
            self.settings, epochs=epochs, learning_rate=self.settings.learning_rate / 10, patience=epochs))
        return q

    def tflite_variant(self, name: str, model: keras.Model, mode: str, params: int, sparsity: float) -> Row:
        """``model`` converted (``mode``) and measured; the row keeps its bytes as ``raw``."""
        raw = convert(model, mode, self.rep)
        meta = model_metadata(self.band, 0.5, {"uncertain_band": [0.5, 0.5]}, name, {}, self.run.record,
                              sparsity=sparsity, views=self.views)
        row = measure_tflite(name, embed_metadata(raw, meta), self.val_views, self.val_y, params, sparsity)
        row["raw"] = raw
        return row


def fp32_students(opt: Optimizer, distill_epochs: int) -> Tuple[List[Row], str, keras.Model]:
    """Rows of the fp32 models (teacher, student, and with a teacher the continued and distilled
    students), and the name and model of the best student by validation AUC."""
    rows = []
    if opt.teacher is not None:
        teacher_views = view_batches(opt.data.val, CONTEXT_GEOMETRY, opt.teacher_geometry, opt.views, ZOOMS)
        rows.append(measure_keras("teacher fp32", opt.teacher, teacher_views, opt.val_y))
    rows.append(measure_keras("student fp32", opt.student, opt.val_views, opt.val_y))
    fp32 = {"student": (opt.student, rows[-1])}
    if opt.teacher is not None:
        rows.append(ensemble_row("teacher + student (soft targets)", rows[-2:], opt.val_y))
        epochs = distill_epochs or opt.settings.epochs
        for name, alpha in (("continued", 1.0), ("distilled", 0.5)):
            model = opt.distill(epochs, alpha)
            rows.append(measure_keras(f"{name} fp32", model, opt.val_views, opt.val_y))
            fp32[name] = (model, rows[-1])
    base_name = max(fp32, key=lambda name: fp32[name][1]["auc"])
    return rows, base_name, fp32[base_name][0]


def quantized_variants(opt: Optimizer, best: keras.Model, base_name: str, config: OptimizeConfig
                       ) -> Tuple[List[Row], List[Row]]:
    """The rows of the pruned fp32 models, and the .tflite candidates: ``best`` as float16,
    dynamic-range, PTQ and QAT int8, and each pruned model as PTQ and QAT int8."""
    params = best.count_params()
    candidates = [opt.tflite_variant(f"{base_name} float16", best, "float16", params, 0.0),
                  opt.tflite_variant(f"{base_name} dynamic-range", best, "dynamic", params, 0.0),
                  opt.tflite_variant(f"{base_name} PTQ int8", best, "int8", params, 0.0)]
    check_size(candidates[-1]["variant"], candidates[-1]["size_bytes"])  # all int8 variants are this size
    qat = opt.qat(best, config.qat_epochs, preserve_sparsity=False)
    candidates.append(opt.tflite_variant(f"{base_name} QAT int8", qat, "int8", params, 0.0))
    pruned_rows = []
    for s in config.sparsity:
        pruned = opt.prune(best, s, config.prune_epochs)
        sp = sparsity_of(pruned)["prunable"]
        pruned_rows.append(measure_keras(f"pruned {int(s * 100)}%", pruned, opt.val_views, opt.val_y, sp))
        candidates.append(opt.tflite_variant(f"pruned {int(s * 100)}% PTQ int8", pruned, "int8",
                                             pruned.count_params(), sp))
        pqat = opt.qat(pruned, config.qat_epochs, preserve_sparsity=True)
        candidates.append(opt.tflite_variant(f"pruned {int(s * 100)}% QAT int8", pqat, "int8",
                                             pruned.count_params(), sp))
    return pruned_rows, candidates


def optimize(config: OptimizeConfig, command: Optional[str] = None) -> List[Row]:
    """Make, measure and export every variant; write the table and optimize.json; returns the rows."""
    opt = Optimizer(config)
    rows, base_name, best = fp32_students(opt, config.distill_epochs)
    (opt.run_dir / "optimize").mkdir(exist_ok=True)
    best.save_weights(str(opt.run_dir / "optimize" / f"{base_name}.weights.h5"))  # to train on from it
    logger.info("best fp32 student: %s", base_name)
    pruned_rows, candidates = quantized_variants(opt, best, base_name, config)
    rows += pruned_rows + candidates
    final = max((c for c in candidates if "int8" in c["variant"]), key=lambda c: (round(c["auc"], 3), c["accuracy"]))
    logger.info("final: %s", final["variant"])
    final_bytes = export_final(opt, final, config.out, config.band_targets, command)
    final_row = {k: v for k, v in final.items() if k != "raw"}
    rows.append({**final_row, "variant": f"final ({final['variant']})", "size_bytes": len(final_bytes),
                 "file": os.path.relpath(config.out, config.variants_dir)})
    write_variants(rows, config.variants_dir, opt.run.record, opt.band, opt.views)
    save_optimize(config, command)
    return rows


def export_final(opt: Optimizer, final: Row, out: Path, targets: BandTargets,
                 command: Optional[str] = None) -> bytes:
    """Calibrate the threshold and the uncertain bands on validation and write the shipped model."""
    cal = calibration(opt.data, final["pred"], targets)
    threshold, band = cal["threshold"], cal["band"]
    teacher = {"params": int(opt.teacher.count_params()), "geometry": opt.teacher_geometry.to_dict(),
               "command": opt.teacher_record.get("command")} if opt.teacher is not None else None
    meta = model_metadata(opt.band, threshold, band, final["variant"], cal["metrics"], opt.run.record,
                          teacher, final["sparsity"], input_quantization={"dtype": "int8"}, optimize_command=command,
                          video_band=cal["video_band"], views=opt.views)
    data = embed_metadata(final["raw"], meta)
    check_size(final["variant"], len(data))
    ops = set(builtin_op_names(data))
    if any(o.startswith("CUSTOM") for o in ops) or "FLEX" in " ".join(ops):
        raise RuntimeError(f"export has non-builtin ops: {sorted(ops)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    logger.info("wrote %s (%d bytes), threshold %.3f, band %s", out, len(data), threshold, band["uncertain_band"])
    return data


def variant_file(variant: str) -> str:
    """The .tflite file name of a variant ("pruned 50% PTQ int8" -> "pruned_50pct_PTQ_int8.tflite")."""
    return variant.replace(" ", "_").replace("%", "pct").replace("(", "").replace(")", "") + ".tflite"


def write_variants(rows: List[Row], variants_dir: Path, run_record: Dict[str, Any], band: BandGeometry,
                   views: Sequence[str]) -> None:
    """Each .tflite variant (its metadata naming ``band`` and the ``views`` it was scored on),
    variants.json (manifest and table) and the markdown table."""
    variants_dir.mkdir(parents=True, exist_ok=True)
    manifest = []
    for r in rows:
        entry = {k: v for k, v in r.items() if k not in ("pred", "raw")}
        entry["file"] = r.get("file")
        if "raw" in r:
            meta = model_metadata(band, 0.5, {"uncertain_band": [0.5, 0.5]}, r["variant"],
                                  {"validation_auc": r["auc"], "validation_accuracy": r["accuracy"]}, run_record,
                                  sparsity=r["sparsity"], views=views)
            entry["file"] = variant_file(r["variant"])
            (variants_dir / entry["file"]).write_bytes(embed_metadata(r["raw"], meta))
        manifest.append(entry)
    (variants_dir / "variants.json").write_text(json.dumps(manifest, indent=1, default=float))
    table = markdown_table({m["variant"]: m for m in manifest}, TABLE_COLUMNS, "variant")
    (variants_dir / "variants.md").write_text(table + "\n")
    logger.info("%s", table)
