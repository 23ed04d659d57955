"""The shipped model gives the same results on tflite-runtime 2.14 with numpy 1 (older Pis).

Runs only when the compat venv exists (``python -m eyegrad.optimize.check_tflite_runtime`` makes it)
or when EYEGRAD_COMPAT=1 allows this test to create it (downloads about 60 MB from PyPI).
"""
from __future__ import annotations

import os

import pytest

from eyegrad.runtime.model import DEFAULT_MODEL
from eyegrad.optimize.check_tflite_runtime import DEFAULT_VENV, check, venv_ready

pytestmark = pytest.mark.skipif(
    not (os.environ.get("EYEGRAD_COMPAT") == "1" or venv_ready(DEFAULT_VENV)),
    reason=f"tflite-runtime 2.14 venv not built ({DEFAULT_VENV}): set EYEGRAD_COMPAT=1 or run "
           "`python -m eyegrad.optimize.check_tflite_runtime` once (downloads packages)")


def test_same_p_fake_on_tflite_runtime_2_14(sample_images):
    report = check(DEFAULT_MODEL, [str(p) for p in sample_images], DEFAULT_VENV)
    assert report["compat"]["tflite-runtime"] == "2.14.0"
    assert report["compat"]["numpy"].startswith("1.")
    assert report["compat"]["ai-edge-litert"] is None  # the interpreter compared really is tflite_runtime
    assert len(report["images"]) == len(sample_images)
    assert report["ok"], report["images"]
