"""A tiny end-to-end run: `eyegrad train` then `eyegrad optimize` give a model the runtime loads."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from eyegrad.runtime import Detector
from eyegrad.cli import main
from eyegrad.optimize.config import OptimizeConfig
from eyegrad.optimize.export import builtin_op_names

from conftest import strict_json


@pytest.fixture(scope="module")
def tiny_run(shared_data: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--data", str(shared_data / "mesonet_df" / "train"), str(shared_data / "utkface"),
                 "--limit", "16", "--epochs", "2", "--average-last", "2", "--batch-size", "16", "--out", str(out / "run"),
                 "--teacher", "--teacher-epochs", "1",
                 "--cache", str(out / "cache"), "--workers", "1"])
    assert code == 0
    return out


def test_train_writes_weights_reports_and_plots(tiny_run: Path):
    run_dir = tiny_run / "run"
    run = strict_json((run_dir / "run.json").read_text())  # utkface alone: one class, null metrics
    assert (run_dir / "student.weights.h5").is_file()
    for png in ("training_curves.png", "roc.png", "confusion.png"):
        assert (run_dir / png).stat().st_size > 1000
    assert run["student"]["params"] <= 50_000 and run["student"]["macs"] <= 5_000_000
    assert set(run["split"]["train"]) == {"mesonet_df", "utkface"}
    assert run["split"]["real_only_sources"] == ["utkface"]  # self-blended fakes stand in
    assert "auc_jpeg_table_only" in run["jpeg_shortcut"]
    assert "| all |" in (run_dir / "report.md").read_text()


def test_the_better_of_best_epoch_and_weight_average_is_kept(tiny_run: Path):
    student = json.loads((tiny_run / "run" / "run.json").read_text())["student"]
    history = json.loads((tiny_run / "run" / "student_history.json").read_text())
    average = student["weight_average"]
    assert average["averaged_epochs"] == 2 and len(history) == 2
    best_epoch = max(h["val_auc"] for h in history)
    assert average["kept_average"] == (average["averaged_val_auc"] > best_epoch)
    kept = average["averaged_val_auc"] if average["kept_average"] else best_epoch
    assert student["metrics"]["all"]["auc"] == pytest.approx(kept, abs=1e-6)


def test_warm_start_loads_the_layers_that_match_and_leaves_the_rest(tiny_run: Path, caplog):
    from eyegrad.train.loop import warm_start
    from eyegrad.train.models import build_student, build_teacher

    weights = tiny_run / "run" / "student.weights.h5"
    trained = build_student((48, 128, 3))
    trained.load_weights(str(weights))
    student, teacher = build_student((48, 128, 3)), build_teacher((64, 170, 3))
    fresh = {w.name: w.numpy().copy() for w in teacher.weights}
    caplog.set_level(logging.INFO, logger="eyegrad.train.loop")
    warm_start(student, weights)
    warm_start(teacher, weights)  # a bigger band, and a wider last block and dense layer
    lines = [r.getMessage() for r in caplog.records if r.name == "eyegrad.train.loop"]
    n = len(student.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(student.get_weights(), trained.get_weights()))
    source = {w.name: w.numpy() for w in trained.weights}
    layer = lambda w: w.name.split("/")[0]  # noqa: E731
    # a layer is loaded when every one of its weights has the student's shape
    mismatched = {layer(w) for w in teacher.weights if w.shape != source[w.name].shape}
    same = [w.name for w in teacher.weights if layer(w) not in mismatched]
    assert "stem_conv" not in mismatched and {"block4_pw_conv", "fc", "p_fake"} <= mismatched
    for w in teacher.weights:
        assert np.array_equal(w.numpy(), source[w.name] if w.name in same else fresh[w.name]), w.name
    assert lines == [f"warm start from {weights}: {n} of {n} weight arrays loaded",
                     f"warm start from {weights}: {len(same)} of {len(fresh)} weight arrays loaded"]


def test_optimize_exports_a_model_the_runtime_loads(tiny_run: Path, sample_images):
    model = tiny_run / "eyegrad.tflite"
    code = main(["optimize", "--run", str(tiny_run / "run"), "--out", str(model), "--variants-dir",
                 str(tiny_run / "variants"), "--sparsity", "0.5", "--prune-epochs", "1", "--qat-epochs", "1",
                 "--distill-epochs", "1"])
    assert code == 0
    data = model.read_bytes()
    assert len(data) <= 64 * 1024
    assert not [op for op in builtin_op_names(data) if op.startswith("CUSTOM")]
    detector = Detector(model)
    meta = detector.model.metadata
    lo, hi = meta["uncertain_band"]
    assert lo <= meta["threshold"] <= hi
    assert meta["training"]["split"]["real_only_sources"] == ["utkface"]
    run = json.loads((tiny_run / "run" / "run.json").read_text())
    assert meta["teacher"]["geometry"] == run["teacher_geometry"]  # the band the teacher was trained on
    for path in sample_images:
        r = detector.detect(str(path))
        assert r.verdict in ("real", "fake", "uncertain") and 0.0 <= r.p_fake <= 1.0
    table = json.loads((tiny_run / "variants" / "variants.json").read_text())
    names = [row["variant"] for row in table]
    assert {"teacher fp32", "student fp32", "teacher + student (soft targets)", "continued fp32",
            "distilled fp32"} <= set(names)
    fp32 = {row["variant"].split()[0]: row["auc"] for row in table if row["variant"].endswith("fp32")}
    chosen = max(("student", "continued", "distilled"), key=fp32.get)  # the best fp32 student goes on
    assert any(n.startswith(f"{chosen} PTQ int8") for n in names)
    assert any(n.startswith("final") for n in names)
    pruned = next(row for row in table if row["variant"] == "pruned 50%")
    assert pruned["sparsity"] >= 0.45  # the pruning fine-tune ends at its target, not an earlier epoch
    # the fine-tunes use the run's settings: --average-last 2 averages the one distillation epoch,
    # but never the pruning fine-tune (weights under different masks would average to dense ones)
    histories = tiny_run / "run" / "optimize"
    distilled = [json.loads(p.read_text()) for p in histories.glob("distiller*_history.json")]
    assert distilled and all(h[-1]["averaged_epochs"] == 1 for h in distilled)
    assert "averaged_epochs" not in json.loads((histories / "pruned50_history.json").read_text())[-1]
    recorded = json.loads((tiny_run / "variants" / "optimize.json").read_text())
    assert OptimizeConfig.from_dict(recorded["args"]).sparsity == (0.5,)
    assert recorded["command"].startswith("eyegrad ")
    for row in table:
        if row.get("file") and not row["variant"].startswith("final"):
            Detector(tiny_run / "variants" / row["file"])  # every variant loads


@pytest.mark.parametrize("consistency_and_views", [((), ("band", "mirrored")), (("--eye-consistency",), ("band",))],
                         ids=["two views", "eye comparisons, one view"])
def test_a_periocular_student_is_trained_exported_and_run_on_its_own_band(
        shared_data: Path, tmp_path: Path, sample_images, consistency_and_views):
    from eyegrad.runtime.model import parse_metadata

    consistency, views = consistency_and_views
    run_dir, model, variants = tmp_path / "run", tmp_path / "eyegrad.tflite", tmp_path / "variants"
    assert main(["train", "--data", str(shared_data / "mesonet_df" / "train"), "--limit", "8", "--epochs", "1",
                 "--batch-size", "8", "--band", "periocular", *consistency, "--out", str(run_dir),
                 "--workers", "1"]) == 0
    assert main(["optimize", "--run", str(run_dir), "--out", str(model), "--variants-dir", str(variants),
                 "--sparsity", "0.5", "--prune-epochs", "1", "--qat-epochs", "1", "--views", *views]) == 0
    run = json.loads((run_dir / "run.json").read_text())
    assert run["args"]["band"] == "periocular" and run["args"]["eye_consistency"] is bool(consistency)
    for path in [model, *variants.glob("*.tflite")]:  # the views every file was scored on
        assert parse_metadata(path.read_bytes())["views"] == list(views), path.name
    band = run["student_geometry"]
    assert (band["height"], band["width"]) == (64, 144)
    detector = Detector(model)
    assert detector.model.geometry.to_dict() == band  # the runtime cuts the band the student was trained on
    assert tuple(detector.model.tflite.input_shape[1:3]) == (64, 144)
    ops = set(builtin_op_names(model.read_bytes()))
    assert ("MUL" in ops) is bool(consistency)  # the mirrored comparison's sign flip
    assert {"ABS", "SUB", "STRIDED_SLICE"} <= ops and not any(op.startswith("CUSTOM") for op in ops)
    results = [detector.detect(str(path)) for path in sample_images]
    assert all(r.faces and 0.0 <= r.p_fake <= 1.0 for r in results)


def test_recalibrate_gives_an_old_model_the_current_views_and_keeps_its_weights(tiny_run: Path, sample_images,
                                                                                  capsys):
    from eyegrad.runtime.model import parse_metadata
    from eyegrad.optimize.export import embed_metadata
    from eyegrad.optimize.metadata import VIEWS, ZOOMS

    exported = tiny_run / "eyegrad.tflite"  # written by the optimize test above
    if not exported.is_file():
        pytest.skip("needs the optimize test's export")
    meta = parse_metadata(exported.read_bytes())
    old = tiny_run / "old.tflite"  # as exported before zooms: one band and a made-up calibration
    old.write_bytes(embed_metadata(exported.read_bytes(), {**meta, "views": ["band"], "zooms": [1.0],
                                                           "threshold": 0.5, "uncertain_band": [0.5, 0.5]}))
    new = tiny_run / "recalibrated.tflite"
    assert main(["optimize", "--run", str(tiny_run / "run"), "--recalibrate", str(old), "--out", str(new)]) == 0
    got = parse_metadata(new.read_bytes())
    assert got["views"] == list(VIEWS) and got["zooms"] == list(ZOOMS)
    assert got["recalibrate_command"].startswith("eyegrad ")  # sys.argv: the test runner's, here
    # same validation images and views as the export: its calibration comes back exactly
    for key in ("threshold", "uncertain_band", "calibration", "metrics"):
        assert got[key] == meta[key], key
    before, after = Detector(exported), Detector(new)
    for path in sample_images:
        assert after.detect(str(path)).p_fake == before.detect(str(path)).p_fake  # weights untouched

    other = tiny_run / "other_split.tflite"
    other.write_bytes(embed_metadata(exported.read_bytes(), {**meta, "training": {**meta["training"], "split": {}}}))
    capsys.readouterr()
    assert main(["optimize", "--run", str(tiny_run / "run"), "--recalibrate", str(other), "--out", str(new)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("eyegrad: error:") and "data and split" in err and "\n" not in err


def test_recalibrate_with_one_view_scores_each_face_by_its_band_alone(tiny_run: Path, sample_images):
    from eyegrad.optimize.rundata import run_data
    from eyegrad.optimize.variants import load_tflite
    from eyegrad.runtime.decode import decode_image
    from eyegrad.runtime.features import BandGeometry, eye_features
    from eyegrad.runtime.metrics import roc_auc
    from eyegrad.runtime.model import parse_metadata
    from eyegrad.train.cache import CONTEXT_GEOMETRY
    from eyegrad.train.config import load_run
    from eyegrad.train.sequence import plain_batch

    exported = tiny_run / "eyegrad.tflite"  # written by the optimize test above
    if not exported.is_file():
        pytest.skip("needs the optimize test's export")
    one_view = tiny_run / "one_view.tflite"
    assert main(["optimize", "--run", str(tiny_run / "run"), "--recalibrate", str(exported), "--views", "band",
                 "--out", str(one_view)]) == 0
    meta = parse_metadata(one_view.read_bytes())
    assert meta["views"] == ["band"]
    data = run_data(load_run(tiny_run / "run"))
    band_scores = load_tflite(exported.read_bytes()).predict(plain_batch(data.val, CONTEXT_GEOMETRY,
                                                                         BandGeometry.from_dict(meta["geometry"])))
    assert meta["metrics"]["validation"]["auc"] == pytest.approx(roc_auc(data.val.labels, band_scores.reshape(-1)))
    detector = Detector(one_view)
    for path in sample_images:
        face = detector.detect(str(path)).faces[0]
        band_alone = detector.model.predict_one(eye_features(decode_image(path), face.face, detector.model.geometry))
        assert face.p_fake == pytest.approx(band_alone, abs=1e-6)


def test_a_run_split_before_files_v1_is_refused(tiny_run: Path, capsys):
    """Runs made before the file-level split recorded no split version; their split cannot be remade."""
    from eyegrad.runtime.model import parse_metadata
    from eyegrad.optimize.export import embed_metadata

    exported = tiny_run / "eyegrad.tflite"  # written by the optimize test above
    if not exported.is_file():
        pytest.skip("needs the optimize test's export")
    run = json.loads((tiny_run / "run" / "run.json").read_text())
    old_split = {k: v for k, v in run["split"].items() if k != "version"}
    old_run = tiny_run / "old_run"
    old_run.mkdir()
    (old_run / "run.json").write_text(json.dumps({**run, "split": old_split}))
    meta = parse_metadata(exported.read_bytes())
    old_model = tiny_run / "old_split.tflite"
    old_model.write_bytes(embed_metadata(exported.read_bytes(),
                                         {**meta, "training": {**meta["training"], "split": old_split}}))
    capsys.readouterr()
    assert main(["optimize", "--run", str(old_run), "--recalibrate", str(old_model),
                 "--out", str(tiny_run / "never.tflite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines of remaking the split
    assert err.startswith("eyegrad: error:") and "split on crops, before files-v1" in err
    assert not (tiny_run / "never.tflite").exists()


def test_leave_one_source_out_scores_each_source_with_a_run_that_never_saw_it(shared_data: Path, tmp_path: Path):
    from eyegrad.train.run import load_crops, load_samples

    roots = [shared_data / "mesonet_df" / "train", shared_data / "ciplab" / "train", shared_data / "utkface"]
    out, cache = tmp_path / "loso_run", tmp_path / "cache"
    code = main(["train", "--loso-only", "--data", *map(str, roots), "--limit", "8", "--loso-epochs", "1",
                 "--batch-size", "16", "--out", str(out), "--cache", str(cache), "--workers", "1"])
    assert code == 0
    table = strict_json((out / "loso.json").read_text())
    crops = load_crops(load_samples(roots, limit=8, split="blocks"), cache, workers=1)
    assert set(table) == {"ciplab", "mesonet_df", "utkface"}
    for source, row in table.items():
        assert row["n"] == int((crops.sources == source).sum())  # all of it, none kept for training
        assert 0.0 <= row["val_auc"] <= 1.0  # the other sources' validation split: both classes
    for source in ("ciplab", "mesonet_df"):
        assert 0.0 <= table[source]["auc"] <= 1.0 and table[source]["paired"] == 0
        assert 0.0 <= table[source]["fake_catch_rate"] <= 1.0
    # real faces only: scored against the fakes of the run's validation split, which it never trained on
    utk = table["utkface"]
    assert utk["paired"] > 0 and 0.0 <= utk["auc"] <= 1.0 and utk["fake_catch_rate"] is None
    assert 0.0 <= utk["real_pass_rate"] <= 1.0
    lines = (out / "loso.md").read_text().splitlines()
    assert lines[0] == ("| held-out source | n | paired | accuracy | auc | fake_catch_rate | real_pass_rate "
                        "| val_auc |")
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| ciplab", "| mesonet_df", "| utkface"]


def test_loso_sources_leaves_out_only_the_sources_named_and_run_json_records_them(shared_data: Path, tmp_path: Path,
                                                                                   capsys):
    roots = [shared_data / "mesonet_df" / "train", shared_data / "ciplab" / "train", shared_data / "utkface"]
    out = tmp_path / "one_row"
    code = main(["train", "--loso-only", "--loso-sources", "ciplab", "--data", *map(str, roots), "--limit", "8",
                 "--loso-epochs", "1", "--batch-size", "16", "--out", str(out), "--cache", str(tmp_path / "cache"),
                 "--workers", "1"])
    assert code == 0
    table = strict_json((out / "loso.json").read_text())
    assert list(table) == ["ciplab"]
    assert table["ciplab"]["n"] > 0 and 0.0 <= table["ciplab"]["auc"] <= 1.0
    run = strict_json((out / "run.json").read_text())  # the table says how it was made
    assert run["loso"] == table and run["args"]["loso_sources"] == ["ciplab"] and run["args"]["loso_epochs"] == 1
    assert run["data"] == [str(r) for r in roots]
    assert main(["optimize", "--run", str(out)]) == 2  # no student was trained to optimize
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith("has no student.weights.h5 (an `eyegrad train --loso-only` run trains none): "
                        "name one with --student")


def test_the_stress_view_is_scored_per_source_beside_the_plain_one_and_reproducible(tiny_run: Path):
    from eyegrad.runtime.features import STUDENT_GEOMETRY
    from eyegrad.runtime.metrics import json_ready
    from eyegrad.train.cache import CONTEXT_GEOMETRY
    from eyegrad.train.config import load_run
    from eyegrad.train.models import build_student
    from eyegrad.train.run import prepare
    from eyegrad.train.sequence import plain_batch
    from eyegrad.train.stress import StressRecipe, stress_report, stress_scores, stress_validation

    run_dir = tiny_run / "run"
    run = strict_json((run_dir / "run.json").read_text())
    for role in ("student", "teacher"):
        plain, stress = run[role]["metrics"], run[role]["stress"]
        assert stress["recipe"] == {"scale": [0.5, 0.75], "interpolation": "INTER_AREA", "jpeg_quality": [50, 70],
                                    "seed": 0, "drawn_per": "file content (sha256)"}
        assert set(stress["faces_lost"]) == {"mesonet_df", "utkface"} and stress["videos_left_out"] == 0
        lost = {**stress["faces_lost"], "all": sum(stress["faces_lost"].values())}
        for source in ("all", "mesonet_df", "utkface"):  # every validation image, a face found or not
            assert stress["metrics"][source]["n"] == plain[source]["n"] > 0
            assert stress["metrics"][source]["coverage"] == pytest.approx(1 - lost[source] / plain[source]["n"])
        assert 0.0 <= stress["metrics"]["mesonet_df"]["auc"] <= 1.0  # both classes
    report = (run_dir / "report.md").read_text()
    assert report.count("Stress view: the same images downscaled 0.5-0.75x (INTER_AREA), JPEG q50-70") == 2
    assert report.count("| stressed n | faces kept | stressed accuracy | stressed auc | auc change |") == 2

    # the run's split remade, degraded again without a cache and scored by the saved student: the same figures
    data = prepare(load_run(run_dir).config)
    stressed = stress_validation(data.val, StressRecipe(), None, workers=1)
    assert list(stressed.crops.paths) == list(data.val.paths)  # images only: one crop a file, in order
    student = build_student((STUDENT_GEOMETRY.height, STUDENT_GEOMETRY.width, 3))
    student.load_weights(str(run_dir / "student.weights.h5"))
    scores = stress_scores(stressed, student, STUDENT_GEOMETRY)
    assert json_ready(stress_report(stressed, scores, StressRecipe())) == run["student"]["stress"]
    # the student sees other crops and scores them otherwise (a 2-epoch student moves its scores only a little)
    kept = stressed.face_found
    assert np.abs(stressed.crops.crops[kept].astype(float) - data.val.crops[kept]).mean() > 1.0
    plain_scores = student.predict(plain_batch(data.val, CONTEXT_GEOMETRY, STUDENT_GEOMETRY), verbose=0).reshape(-1)
    assert (scores[kept] != plain_scores[kept]).mean() > 0.8
