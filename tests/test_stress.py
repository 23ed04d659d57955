"""The stress view of validation on real images: degradation ranges, seeded draws, face-less files."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import List

import cv2
import numpy as np
import pytest
from PIL import Image

from eyegrad.train.cache import build_crops
from eyegrad.train.data import Sample
from eyegrad.train.reports import render_report
from eyegrad.train.stress import StressRecipe, StressedSet, degrade, stress_report, stress_validation


def quantization(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as img:
        return img.quantization


def test_degradation_stays_within_the_stated_ranges_on_a_real_image(sample_images: List[Path]):
    recipe = StressRecipe()
    path = sample_images[0]
    data = path.read_bytes()
    with Image.open(path) as img:
        w, h = img.size
    draws = [recipe.draw(hashlib.sha256(f"{i}".encode()).hexdigest()) for i in range(300)]
    scales, qualities = np.array([d[0] for d in draws]), np.array([d[1] for d in draws])
    assert 0.5 <= scales.min() < 0.55 and 0.70 < scales.max() <= 0.75
    assert set(qualities) == set(range(50, 71))  # both ends included, integers
    digest = hashlib.sha256(data).hexdigest()
    scale, quality = recipe.draw(digest)
    assert recipe.draw(digest) == (scale, quality)  # seeded by the file's content
    assert StressRecipe(seed=1).draw(digest) != (scale, quality)
    out = degrade(data, scale, quality)
    with Image.open(io.BytesIO(out)) as img:
        assert img.format == "JPEG" and img.size == (round(w * scale), round(h * scale))
    # the quantization tables are those of that JPEG quality, and not of its neighbours
    reference = {q: quantization(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8),
                                              [cv2.IMWRITE_JPEG_QUALITY, q])[1].tobytes())
                 for q in (quality - 1, quality, quality + 1)}
    assert quantization(out) == reference[quality]
    assert quantization(out) != reference[quality - 1] and quantization(out) != reference[quality + 1]
    for s, q in ((0.5, 50), (0.75, 70)):  # the ends of the ranges
        with Image.open(io.BytesIO(degrade(data, s, q))) as img:
            assert img.size == (round(w * s), round(h * s))


def test_stressed_crops_are_reproducible_and_cached_by_file_and_recipe(sample_images: List[Path], tmp_path: Path):
    samples = [Sample(p, int(p.name.startswith("fake")), "examples", p.name) for p in sample_images]
    val = build_crops(samples, tmp_path / "cache", workers=1)
    fresh = stress_validation(val, StressRecipe(), None, workers=1)
    built = stress_validation(val, StressRecipe(), tmp_path / "cache", workers=1)
    cached = stress_validation(val, StressRecipe(), tmp_path / "cache", workers=1)
    assert len(list((tmp_path / "cache").rglob(f"{StressRecipe().tag()}/*.npz"))) == len(sample_images)
    for got in (built, cached):
        assert np.array_equal(got.crops.crops, fresh.crops.crops) and np.array_equal(got.face_found, fresh.face_found)
    assert fresh.face_found.all() and list(fresh.crops.paths) == list(val.paths)
    assert not np.array_equal(fresh.crops.crops, val.crops)  # degraded, not the plain crops
    other = stress_validation(val, StressRecipe(seed=1), tmp_path / "cache", workers=1)
    assert not np.array_equal(other.crops.crops, fresh.crops.crops)  # another seed, other draws


def test_an_image_that_loses_its_face_counts_as_wrong(sample_images: List[Path], tmp_path: Path):
    samples = [Sample(p, int(p.name.startswith("fake")), "examples", p.name) for p in sample_images]
    stressed = stress_validation(build_crops(samples, tmp_path / "cache", workers=1), StressRecipe(), None, 1)
    lost = np.array([False, True, False, False])  # the second fake's degraded image had no face
    stressed = StressedSet(stressed.crops, stressed.face_found & ~lost, 0)
    labels = stressed.crops.labels
    scores = np.where(labels == 1, 0.9, 0.1)  # every decided image right
    scores[lost] = 0.5  # what stress_scores gives a face-less image
    report = stress_report(stressed, scores, StressRecipe())
    row = report["metrics"]["examples"]
    assert report["faces_lost"] == {"examples": 1} and row["n"] == 4 and row["coverage"] == 0.75
    assert row["accuracy"] == 0.75 and row["confusion"] == {"tn": 2, "fp": 0, "fn": 0, "tp": 1}
    assert sum(r["n"] for k, r in report["metrics"].items() if k.startswith("eyes:")) == 3
    plain = {k: {**v, "accuracy": 1.0, "auc": 1.0} for k, v in report["metrics"].items()}
    text = render_report({"date": "today", "command": "eyegrad train", "split": {},
                          "student": {"params": 1, "macs": 1, "metrics": plain, "stress": report}})
    assert "JPEG q50-70" in text and "| examples | 4 | 1.000 | 1.000 | 4 | 0.750 | 0.750 |" in text
