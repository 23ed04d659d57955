"""`eyegrad bench --quick` on the sample images: a valid JSON report, markdown and PNG (no timing asserted)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import pytest

from eyegrad.benchmarks.coverage import coverage, flips
from eyegrad.benchmarks.images import camera_frame
from eyegrad.benchmarks.latency import STAGES, frame_against_invoke
from eyegrad.benchmarks.meso4 import DEFAULT_WEIGHTS
from eyegrad.benchmarks.report import pareto
from eyegrad.benchmarks.variants import read_manifest
from eyegrad.cli import main
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.model import DEFAULT_MODEL, EyeModel

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _bench(out: Path, *extra: str) -> dict:
    assert main(["bench", "--quick", "--out", str(out), *extra]) == 0
    report = json.loads(out.with_name(out.name + ".json").read_text())
    assert out.with_name(out.name + ".png").read_bytes()[:8] == PNG_MAGIC
    md = out.with_name(out.name + ".md").read_text()
    assert "| model |" in md and "## Runtime stages: frames" in md
    return report


def _check_row(row: dict) -> None:
    assert 0.0 <= row["accuracy"] <= 1.0 and 0.0 <= row["coverage"] <= 1.0
    assert row["size_bytes"] > 0 and row["invoke_ms"]["runs"] == 10
    assert row["invoke_ms"]["p50"] <= row["invoke_ms"]["p95"] <= row["invoke_ms"]["p99"]
    assert row["e2e_ms_est"] > 0 and isinstance(row["pareto_invoke"], bool)
    if row["kind"] == "eyegrad":  # inference per face: one invoke per view of every zoom's band
        model = EyeModel(row["path"])
        assert row["views_per_face"] == len(model.views) * len(model.zooms)
        assert row["face_ms"] == pytest.approx(row["invoke_ms"]["p50"] * row["views_per_face"], abs=1e-3)
        assert row["e2e_ms_est"] > row["face_ms"]
    assert set(row["per_set"]) == {"samples"} and row["n"] == 4


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """A manifest listing a copy of the shipped model, a Keras-only step and an unreadable model."""
    (tmp_path / "variants").mkdir()
    shutil.copy(DEFAULT_MODEL, tmp_path / "variants" / "copy.tflite")
    (tmp_path / "variants" / "broken.tflite").write_bytes(b"not a model")
    doc = {"variants": [{"name": "copy", "path": "copy.tflite", "sparsity": 0.5},
                        {"variant": "teacher fp32", "file": None, "format": "keras fp32"}, "broken.tflite"]}
    path = tmp_path / "variants" / "variants.json"
    path.write_text(json.dumps(doc))
    return path


def test_quick_bench_without_meso4_weights(tmp_path: Path, manifest: Path) -> None:
    report = _bench(tmp_path / "out" / "r", "--manifest", str(manifest),
                    "--meso4-weights", str(tmp_path / "absent" / "Meso4_DF.h5"))
    names = [r["name"] for r in report["models"]]
    assert names == ["eyegrad (shipped)", "copy"]
    shipped = EyeModel()
    assert report["models"][0]["views_per_face"] == len(shipped.views) * len(shipped.zooms) == 2  # band and mirror
    for row in report["models"]:
        _check_row(row)
    assert report["models"][1]["info"] == {"sparsity": 0.5}
    skipped = {s["name"]: s["reason"] for s in report["skipped"]}
    assert "no .tflite" in skipped["teacher fp32"] and "broken" in skipped["broken"]
    assert "Meso4_DF.h5" in skipped["Meso-4 (keras)"] and "github.com/DariusAf/MesoNet" in skipped["Meso-4 (keras)"]
    for kind in ("images", "frames"):
        for timings in report["stages"][kind].values():
            assert set(timings) == set(STAGES) and all(t["runs"] == 10 for t in timings.values())
    assert report["machine"]["cores"] >= 1 and report["machine"]["cpu"]
    assert all(t["images"] == 4 for t in report["throughput"].values())
    assert any("640x480" in t for t in report["targets"])
    camera = report["camera"]["rows"]
    threads = sorted({1, report["machine"]["cores"]})
    assert [(r["size"], r["detect_every"], r["threads"]) for r in camera] == \
        [(size, every, n) for size in ("640x480", "1280x960") for every in (1, 3) for n in threads]
    for r in camera:  # every recorded frame shows the face, found by a search or carried over from one
        assert r["frames"] == r["face_frames"] == 20 and r["fps"] > 0 and r["cpu_percent"] > 0
        assert r["face_searches"] == (20 if r["detect_every"] == 1 else 7)
    assert "## Camera loop" in (tmp_path / "out" / "r.md").read_text()


def test_quick_bench_with_meso4(tmp_path: Path, shared_data: Path) -> None:
    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip(f"needs the Meso-4 weights ({DEFAULT_WEIGHTS} not found)")
    report = _bench(tmp_path / "r", "--meso4-tflite", str(tmp_path / "meso4_int8.tflite"),
                    "--manifest", str(tmp_path / "no-manifest.json"))
    rows = {r["name"]: r for r in report["models"]}
    assert {"Meso-4", "Meso-4 int8"} <= set(rows)
    for row in rows.values():
        _check_row(row)
    assert rows["Meso-4 int8"]["format"] == "int8 tflite"
    assert (tmp_path / "meso4_int8.tflite").stat().st_size > 10_000
    assert any("Meso-4 int8 invoke" in t for t in report["targets"])
    assert any(t.startswith("640x480 frame, array in") and "x one Meso-4 int8 invoke" in t for t in report["targets"])
    ratio = report["frame_vs_meso4_int8"]
    assert ratio["frame_ms"] > 0 and ratio["invoke_ms"] > 0
    assert ratio["ratio"] == pytest.approx(ratio["frame_ms"] / ratio["invoke_ms"], rel=0.01)


def test_frame_against_invoke_times_both(sample_images) -> None:
    """The shipped model as its own peer: a frame runs two of its invokes plus the face and eye search."""
    detector = Detector(num_threads=1)
    frames = [cv2.cvtColor(camera_frame(cv2.imread(str(p)), seed=i), cv2.COLOR_BGR2GRAY)
              for i, p in enumerate(sample_images)]
    example = detector.model.face_views(frames[0], detector.finder.find(frames[0])[0])[0]
    got = frame_against_invoke(detector, frames, detector.model.tflite, example, runs=8, warmup=2)
    assert got["frame_ms"] > 2 * got["invoke_ms"] > 0


def test_pareto_front() -> None:
    # (latency, accuracy): the fast weak, the slow strong and a tie are on the front; the dominated one is not
    assert pareto([(1.0, 0.6), (10.0, 0.9), (5.0, 0.5), (1.0, 0.6)]) == [True, True, False, True]


def test_manifest_as_plain_list(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(json.dumps(["a.tflite", {"file": "sub/b.tflite", "name": "b"}, 3]))
    variants, skipped = read_manifest(tmp_path / "m.json")
    assert [(v.name, v.path) for v in variants] == [("a", tmp_path / "a.tflite"), ("b", tmp_path / "sub" / "b.tflite")]
    assert len(skipped) == 1
    (tmp_path / "bad.json").write_text("{")
    assert read_manifest(tmp_path / "bad.json")[1][0]["reason"].startswith("unreadable manifest")


def test_coverage_on_a_few_images(shared_data: Path) -> None:
    report = coverage(shared_data, per_set=4)
    assert report["all"]["n"] == sum(s["n"] for s in report["sets"].values()) > 0
    for s in report["sets"].values():
        assert 0.0 <= s["face_rate"] <= 1.0 and 0.0 <= s["geometry_eye_share"] <= 1.0
    assert all(v == 0 for f in flips(report, report).values() for v in f.values())
