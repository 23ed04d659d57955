"""The `eyegrad detect`, `evaluate` and `info` contracts of docs/api.md, on the example images."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eyegrad.cli import main
from eyegrad.runtime.boxes import EYE_ORIGINS
from eyegrad.runtime.features import FEATURE_VERSION, SUPERSAMPLE
from eyegrad.runtime.model import DEFAULT_MODEL

from conftest import strict_json

DETECT_KEYS = {"path", "verdict", "p_fake", "faces", "timing_ms", "error"}
FACE_KEYS = {"box", "eyes", "eyes_from", "p_fake"}
TIMING_KEYS = {"decode", "detect", "features", "infer", "total"}
REPORT_KEYS = {"n", "coverage", "accuracy", "balanced_accuracy", "auc", "precision", "recall", "f1",
               "confusion", "model", "per_image"}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eyegrad", *args], capture_output=True, text=True,
                          timeout=300)


def test_detect_json_lines_follow_the_contract(sample_images, tmp_path: Path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    proc = run_cli("detect", "--json", *map(str, sample_images), str(broken))
    assert proc.returncode == 1  # one input was an error
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(sample_images) + 1
    for r in results[:-1]:
        assert set(r) == DETECT_KEYS and r["error"] is None
        assert r["verdict"] in ("real", "fake", "uncertain")
        assert set(r["timing_ms"]) == TIMING_KEYS
        face = r["faces"][0]
        assert set(face) == FACE_KEYS and face["eyes_from"] in EYE_ORIGINS
        assert len(face["eyes"]) == 2 and all(len(e) == 4 for e in face["eyes"])
        assert r["p_fake"] == max(f["p_fake"] for f in r["faces"])
    assert results[-1]["verdict"] == "error" and results[-1]["p_fake"] is None
    assert "\n" not in results[-1]["error"] and "Traceback" not in proc.stderr


def test_detect_table_and_exit_codes(sample_images):
    proc = run_cli("detect", str(sample_images[0].parent))
    assert proc.returncode == 0
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["verdict", "p_fake", "ms"] and len(lines) == 1 + len(sample_images)
    assert run_cli("detect").returncode == 2  # usage error


@pytest.mark.parametrize("real_name,fake_name", [("real", "fake"), ("Real", "Fake"), ("training_real", "df")])
def test_evaluate_writes_the_report(sample_images, tmp_path: Path, real_name: str, fake_name: str):
    for p in sample_images:
        folder = tmp_path / "set" / (fake_name if "fake" in p.name else real_name)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, folder / p.name)
    out = tmp_path / "report.json"
    assert main(["evaluate", str(tmp_path / "set"), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report) == REPORT_KEYS
    assert report["n"] == len(sample_images) == len(report["per_image"])
    c = report["confusion"]
    assert c["tn"] + c["fp"] + c["fn"] + c["tp"] == report["n"] * report["coverage"]
    assert report["accuracy"] == pytest.approx((c["tn"] + c["tp"]) / report["n"])
    assert {r["label"] for r in report["per_image"]} == {"real", "fake"}


def test_evaluate_on_reals_only_leaves_the_two_class_metrics_empty(sample_images, tmp_path: Path, capsys):
    (tmp_path / "set" / "real").mkdir(parents=True)
    for p in sample_images:
        if "real" in p.name:
            shutil.copy(p, tmp_path / "set" / "real" / p.name)
    out = tmp_path / "report.json"
    assert main(["evaluate", str(tmp_path / "set"), "--json", str(out)]) == 0
    report = strict_json(out.read_text())
    assert report["auc"] is None and report["balanced_accuracy"] is None
    assert report["accuracy"] == pytest.approx(report["confusion"]["tn"] / report["n"])
    assert "ROC-AUC -" in capsys.readouterr().out


def test_evaluate_refuses_a_folder_without_classes(tmp_path: Path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "no real/ or fake/ folder" in capsys.readouterr().err


def test_info_prints_the_shipped_metadata(capsys):
    assert main(["info", str(DEFAULT_MODEL)]) == 0
    meta = strict_json(capsys.readouterr().out)
    assert meta["feature_version"] == FEATURE_VERSION and meta["supersample"] == SUPERSAMPLE
    lo, hi = meta["uncertain_band"]
    assert 0 <= lo <= meta["threshold"] <= hi <= 1


def test_optimize_refuses_a_teacher_run_without_a_teacher_and_missing_student_or_model_files(tmp_path: Path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text("{}")
    assert main(["optimize", "--run", str(run), "--teacher", str(run)]) == 2
    assert capsys.readouterr().err.strip().endswith("has no teacher.weights.h5: train one with `eyegrad train --teacher`")
    assert main(["optimize", "--run", str(run), "--student", str(tmp_path / "missing.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no such student weights file" in err and "\n" not in err
    assert main(["optimize", "--run", str(run), "--recalibrate", str(tmp_path / "missing.tflite")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"no such model file: {tmp_path / 'missing.tflite'}") and "\n" not in err


def test_each_command_line_default_is_the_options_default() -> None:
    """camera's, serve's and scan's options show the defaults of what they configure (one place each),
    and serve reads its defaults without importing Flask."""
    import argparse
    import dataclasses
    import inspect

    from eyegrad.runtime.camera import LoopOptions
    from eyegrad.runtime.commands import camera, scan
    from eyegrad.runtime.scan.runner import scan as scan_fn

    def defaults(command, *argv) -> dict:
        p = argparse.ArgumentParser()
        command.configure(p)
        return vars(p.parse_args(list(argv)))

    loop = defaults(camera)
    for f in dataclasses.fields(LoopOptions):
        if f.name in loop:
            assert loop[f.name] == f.default, f.name
    assert defaults(scan, "x", "--out", "y")["batch_size"] == inspect.signature(scan_fn).parameters["batch_size"].default

    code = ("import sys, inspect, argparse; from eyegrad.runtime.commands import serve; "
            "p = argparse.ArgumentParser(); serve.configure(p); a = vars(p.parse_args([])); "
            "assert 'flask' not in sys.modules; from eyegrad.runtime.web import create_app as c; "
            "d = {k: v.default for k, v in inspect.signature(c).parameters.items()}; "
            "assert (a['workers'], a['timeout']) == (d['workers'], d['timeout_s']), (a, d); "
            "assert (serve.megabytes(a['max_upload_mb']), serve.megabytes(a['max_video_mb'])) == "
            "(d['max_upload_bytes'], d['max_video_upload_bytes']), (a, d)")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("argv, says", [
    (["detect", "--frames-per-video", "0", "x.jpg"], "argument --frames-per-video: video sampling needs"),
    (["evaluate", "--video-time-limit", "-1", "dir"], "argument --video-time-limit: video sampling needs"),
    (["camera", "--window", "0"], "argument --window: window must be at least 1: 0"),
    (["camera", "--backoff", "soon"], "argument --backoff: not a number: soon"),
    (["scan", "x", "--out", "y.jsonl", "--workers", "0"], "argument --workers/-w: must be at least 1: 0"),
    (["serve", "--max-upload-mb", "0"], "argument --max-upload-mb: must be above 0: 0"),
    (["train", "--data", "d", "--epochs", "0"], "argument --epochs: must be at least 1: 0"),
    (["train", "--data", "d", "--sbi-rate", "1.5"], "argument --sbi-rate: must be a share from 0 to 1: 1.5"),
    (["train", "--data", "d", "--source-weight", "dfdc=0"],
     "argument --source-weight: a source weight is SOURCE=FACTOR with a positive factor"),
    (["optimize", "--reals-fake", "-0.1"], "argument --reals-fake: must be a share from 0 to 1: -0.1"),
    (["optimize", "--sparsity", "0.5", "abc"], "argument --sparsity: not a number: abc"),
])
def test_a_bad_option_value_is_refused_in_one_line_with_status_2(argv, says, capsys) -> None:
    """Every command refuses a bad option value the same way: its argparse type, one line, exit 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"eyegrad {argv[0]}: error: {says}"), err
