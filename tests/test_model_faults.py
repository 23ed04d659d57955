"""Broken model files: each is refused at load time with a clear one-line ModelError, and the
CLI prints ``eyegrad: error: ...`` and exits 2 without a traceback.

The models are real .tflite files made once per session with the project's own export
path (train.models.build_student -> optimize.export.convert, float32 for speed ->
embed_metadata), then damaged in one way each. The metadata they start from is the shipped
model's, so these tests follow the lead's metadata as it evolves.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, NamedTuple

import numpy as np
import pytest

from eyegrad.cli import main as cli_main
from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.errors import ModelError
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.features import CHANNELS, BandGeometry, eye_features
from eyegrad.runtime.model import DEFAULT_MODEL, METADATA_NAME, EyeModel
from eyegrad.runtime.tflite_metadata import read_metadata_entries

REPO = Path(__file__).resolve().parent.parent
IMAGE = REPO / "examples" / "real_mesonet_00240.jpg"


class Built(NamedTuple):
    """Model bytes and metadata the faults are made from."""

    raw: bytes  # a working student .tflite without metadata
    wrong_input: bytes  # a student built for 32 x 32 bands, without metadata
    two_outputs: bytes  # a model that outputs two numbers per image, without metadata
    metadata: Dict


@pytest.fixture(scope="module")
def built() -> Built:
    """Build and convert the tiny models once (a few seconds with TensorFlow)."""
    export = pytest.importorskip("eyegrad.optimize.export", reason="needs TensorFlow (the train extra)")
    from eyegrad.train.models import build_student
    from eyegrad.train.tf import keras

    metadata = EyeModel(DEFAULT_MODEL).metadata
    g = BandGeometry.from_dict(metadata["geometry"])
    shape = (g.height, g.width, len(CHANNELS))
    two = keras.Sequential([keras.Input(shape), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    return Built(export.convert(build_student(shape), "float32"),
                 export.convert(build_student((32, 32, len(CHANNELS))), "float32"),
                 export.convert(two, "float32"), metadata)


def with_metadata(built: Built, model: bytes = b"", **changes) -> bytes:
    """``model`` (default: the good student) with the base metadata changed (None deletes a key)."""
    from eyegrad.optimize.export import embed_metadata

    meta = {k: v for k, v in {**built.metadata, **changes}.items() if not (k in changes and v is None)}
    return embed_metadata(model or built.raw, meta)


def not_json(built: Built) -> bytes:
    """The good model whose metadata text has its first byte replaced (invalid UTF-8 and JSON)."""
    model = with_metadata(built)
    text = read_metadata_entries(model)["eyegrad"]
    assert model.count(text) == 1
    return model.replace(text, b"\xff" + text[1:])


def not_an_object(built: Built) -> bytes:
    from eyegrad.optimize.export import embed_metadata

    return embed_metadata(built.raw, [built.metadata])


def truncated(fraction: float) -> Callable[[Built], bytes]:
    """The good model cut to ``fraction`` of its length."""
    def make(built: Built) -> bytes:
        model = with_metadata(built)
        return model[: int(len(model) * fraction)]
    return make


class Fault(NamedTuple):
    make: Callable[[Built], bytes]
    expect: str  # a substring of the error message


FAULTS: Dict[str, Fault] = {
    "truncated_half": Fault(truncated(0.5), "corrupt TFLite flatbuffer"),
    "truncated_tail": Fault(truncated(0.999), "TFLite cannot load"),
    "truncated_header": Fault(lambda b: with_metadata(b)[:6], "not a TFLite model"),
    "empty": Fault(lambda b: b"", "not a TFLite model"),
    "jpeg_renamed": Fault(lambda b: IMAGE.read_bytes(), "not a TFLite model"),
    "text": Fault(lambda b: b"just a text file\n" * 10, "not a TFLite model"),
    "no_metadata": Fault(lambda b: b.raw, f"no '{METADATA_NAME}' metadata"),
    "metadata_not_json": Fault(not_json, "malformed"),
    "metadata_not_object": Fault(not_an_object, "not a JSON object"),
    "metadata_no_geometry": Fault(lambda b: with_metadata(b, geometry=None), "missing 'geometry'"),
    "metadata_bad_geometry": Fault(lambda b: with_metadata(b, geometry="48x128"), "malformed"),
    "metadata_geometry_partial": Fault(lambda b: with_metadata(b, geometry={"height": 48}), "malformed"),
    "metadata_bad_band": Fault(lambda b: with_metadata(b, uncertain_band=[0.5]), "malformed"),
    "metadata_reversed_band": Fault(lambda b: with_metadata(b, uncertain_band=[0.7, 0.3]), "uncertain_band"),
    "metadata_bad_video_band": Fault(lambda b: with_metadata(b, video_band=[0.2]), "malformed"),
    "metadata_reversed_video_band": Fault(lambda b: with_metadata(b, video_band=[0.7, 0.3]), "video_band"),
    "metadata_bad_threshold": Fault(lambda b: with_metadata(b, threshold="high"), "malformed"),
    "metadata_zero_zoom": Fault(lambda b: with_metadata(b, zooms=[1.0, 0.0]), "'zooms' must be"),
    "metadata_zooms_not_a_list": Fault(lambda b: with_metadata(b, zooms="1.0"), "'zooms' must be"),
    "metadata_no_zooms_listed": Fault(lambda b: with_metadata(b, zooms=[]), "'zooms' must be"),
    "unknown_feature_version": Fault(lambda b: with_metadata(b, feature_version="eyeband-sobel-v999"),
                                     "feature version 'eyeband-sobel-v999' is not supported"),
    "no_feature_version": Fault(lambda b: with_metadata(b, feature_version=None), "feature version None"),
    "wrong_input_shape": Fault(lambda b: with_metadata(b, b.wrong_input), "input shape (1, 32, 32, 3)"),
    "geometry_mismatch": Fault(lambda b: with_metadata(
        b, geometry={**b.metadata["geometry"], "height": 32, "width": 32}), "does not match"),
    "two_outputs": Fault(lambda b: with_metadata(b, b.two_outputs), "output shape (1, 2)"),
}


@pytest.fixture(scope="module")
def model_dir(built: Built, tmp_path_factory) -> Path:
    """The good model and every fault, written once as .tflite files."""
    out = tmp_path_factory.mktemp("models")
    (out / "good.tflite").write_bytes(with_metadata(built))
    for name, fault in FAULTS.items():
        (out / f"{name}.tflite").write_bytes(fault.make(built))
    (out / "folder.tflite").mkdir()
    return out


def test_good_model_loads_and_runs(model_dir: Path, capsys) -> None:
    """The control: the undamaged model loads, detects and serves the CLI (exit 0)."""
    model = EyeModel(model_dir / "good.tflite")
    assert model.metadata == EyeModel(DEFAULT_MODEL).metadata
    result = Detector(model_dir / "good.tflite").detect(IMAGE)
    assert result.verdict in ("real", "fake", "uncertain") and 0.0 <= result.p_fake <= 1.0
    assert cli_main(["detect", "--json", "--model", str(model_dir / "good.tflite"), str(IMAGE)]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == result.verdict


def test_zooms_set_the_bands_a_face_is_scored_on(built: Built, tmp_path: Path) -> None:
    """A face is scored on every view of its band at every zoom of the metadata; a model
    exported before zooms existed (no ``zooms``), or with zooms ``[1.0]`` (the shipped two views),
    is scored on the zoom-1 band alone: the first two of the six views, with their mean as score."""
    gray = decode_image(IMAGE)
    face = FaceFinder().find(gray)[0]
    scores = {}
    for zooms, expected in ((None, (1.0,)), ([1.0, 0.9, 1.1], (1.0, 0.9, 1.1))):
        path = tmp_path / f"zooms_{len(expected)}.tflite"
        path.write_bytes(with_metadata(built, views=["band", "mirrored"], zooms=zooms))
        model = EyeModel(path)
        assert model.zooms == expected
        views = model.face_views(gray, face)
        assert len(views) == 2 * len(expected)
        for i, z in enumerate(expected):
            np.testing.assert_array_equal(views[2 * i], eye_features(gray, face, model.geometry.zoomed(z)))
            np.testing.assert_array_equal(views[2 * i + 1],
                                          eye_features(gray, face, model.geometry.zoomed(z), mirrored=True))
        assert Detector(path).detect(IMAGE).p_fake == pytest.approx(model.score_views(views), abs=1e-6)
        scores[len(expected)] = model.score_views(views), [model.predict_one(v) for v in views]
    assert len({float(v.sum()) for v in views}) == len(views)  # the zooms are different bands
    assert scores[1][0] == pytest.approx(np.mean(scores[3][1][:2]), abs=1e-6)


def assert_clear(msg: str, expect: str) -> None:
    assert msg and "\n" not in msg and "Traceback" not in msg, repr(msg)
    assert expect in msg, msg


@pytest.mark.parametrize("name", FAULTS)
def test_fault_refused_at_load(model_dir: Path, name: str) -> None:
    """EyeModel and Detector refuse the file with a one-line ModelError naming the problem."""
    path = model_dir / f"{name}.tflite"
    for load in (EyeModel, Detector):
        with pytest.raises(ModelError) as info:
            load(path)
        assert_clear(str(info.value), FAULTS[name].expect)
        assert str(path) in str(info.value)


@pytest.mark.parametrize("name", [*FAULTS, "missing", "folder"])
def test_fault_cli_exit_2(model_dir: Path, name: str, capsys) -> None:
    """`eyegrad detect --model BAD` and `eyegrad info BAD`: no result line, one error line, exit 2."""
    path = str(model_dir / f"{name}.tflite")
    expect = FAULTS[name].expect if name in FAULTS else "cannot read model"
    for argv in (["detect", "--model", path, str(IMAGE)], ["info", path]):
        assert cli_main(argv) == 2
        out, err = capsys.readouterr()
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("eyegrad: error: "), err
        assert_clear(lines[0], expect)
        assert out == ""


@pytest.mark.parametrize("name", ["truncated_half", "unknown_feature_version", "wrong_input_shape"])
def test_fault_cli_process(model_dir: Path, name: str) -> None:
    """As a real process: exit code 2, the error as the last stderr line, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "eyegrad", "detect", "--model",
                           str(model_dir / f"{name}.tflite"), str(IMAGE)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("eyegrad: error: ") and FAULTS[name].expect in last, proc.stderr
