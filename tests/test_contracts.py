"""The typed contracts: model metadata (``ModelMetadata``), verdicts (``Verdict``) and the detect
result schema (``schema.py``) that the web API and the scan files derive from.

Everything runs on the shipped models and the example images; the metadata faults are made
from the shipped model's own metadata.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from eyegrad.cli import main
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.errors import ModelError
from eyegrad.runtime.features import STUDENT_GEOMETRY, BandGeometry
from eyegrad.runtime.metadata import METADATA_NAME, SCHEMA_VERSION, ModelMetadata
from eyegrad.runtime.model import DEFAULT_MODEL, EyeModel, parse_metadata
from eyegrad.runtime.results import VERDICTS, DetectResult, Verdict
from eyegrad.runtime.scan.records import scan_record
from eyegrad.runtime.scan.store import results_file
from eyegrad.runtime.schema import DETECT_RESULT, FACE, VIDEO_RESULT, Field, detect_result_schema
from eyegrad.runtime.tflite_metadata import read_metadata_entries

from conftest import face_clip, write_video

REPO = Path(__file__).resolve().parent.parent
SHIPPED = [DEFAULT_MODEL, *sorted((REPO / "models" / "variants").glob("*.tflite"))]
#: The verdict strings of docs/api.md section 2.
DOCUMENTED_VERDICTS = ("real", "fake", "uncertain", "no_face", "error")
#: The columns a scan adds to the detect result.
SCAN_EXTRAS = ("file_size", "sha256")
#: Python types of JSON Schema types, as ``json.loads`` gives them.
JSON_TYPES = {"string": str, "number": (int, float), "integer": int, "array": list, "object": dict}


def raw_metadata(path: Path) -> Dict[str, Any]:
    """The metadata JSON exactly as stored in the model file."""
    return json.loads(read_metadata_entries(path.read_bytes())[METADATA_NAME])


@pytest.fixture(scope="module")
def results(detector: Detector, sample_images: List[Path]) -> List[DetectResult]:
    """Real results of every verdict kind the examples give, plus no_face (a blank frame) and error."""
    blank = np.full((240, 320), 128, np.uint8)
    return [*(detector.detect(p) for p in sample_images), detector.detect(blank), detector.detect(b"not an image")]


# -- model metadata ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_metadata_is_schema_1_and_round_trips(path: Path) -> None:
    """Every key a shipped model holds is a typed field, and ``to_dict`` gives back exactly what
    the file holds; without ``schema_version`` (models exported before it existed) the same
    metadata loads as schema 1."""
    raw = raw_metadata(path)
    assert raw.get("schema_version", 1) == 1
    meta = parse_metadata(path.read_bytes())
    assert meta.schema_version == 1 and meta.extras == {}
    assert meta.to_dict() == {**raw, "schema_version": 1}
    older = {k: v for k, v in raw.items() if k != "schema_version"}
    assert ModelMetadata.from_json(meta.to_json()) == meta == ModelMetadata.from_json(raw) == ModelMetadata.from_json(older)
    assert EyeModel(path).metadata == meta
    assert isinstance(meta.geometry, BandGeometry) and meta.zooms[0] == 1.0
    assert all(isinstance(v, float) for v in (meta.threshold, *meta.uncertain_band, *meta.zooms))


def test_the_shipped_band_keeps_its_promise_on_every_validation_source() -> None:
    """The shipped model's band was set per source: on its validation, every source with reals has
    at least ``reals_real`` of them called `real` and at most ``reals_fake`` called `fake`, the
    counts cover every validation source the metrics report, and the video band keeps the same
    promise on real pseudo-videos."""
    meta = parse_metadata(DEFAULT_MODEL.read_bytes())
    targets, counts = meta.calibration["targets"], meta.calibration["verdicts_per_source"]
    assert set(counts) == set(meta.metrics["validation_per_source"])
    lo, hi = meta.uncertain_band
    assert lo <= meta.threshold <= hi
    for source, c in counts.items():
        assert c["reals_called_real"] >= targets["reals_real"] * c["reals"], source
        assert c["reals_called_fake"] <= targets["reals_fake"] * c["reals"], source
        assert c["fakes"] + c["reals"] == meta.metrics["validation_per_source"][source]["n"], source
    videos = meta.calibration["videos"]
    assert videos["reals_called_real"] >= targets["videos_real"] * videos["reals"]
    assert videos["reals_called_fake"] <= targets["videos_fake"] * videos["reals"]
    assert meta.video_band is not None and EyeModel(DEFAULT_MODEL).video_band == meta.video_band


def test_the_exporter_writes_the_current_schema_with_the_shipped_keys() -> None:
    from eyegrad.optimize.metadata import model_metadata

    meta = model_metadata(STUDENT_GEOMETRY, 0.6, {"uncertain_band": [0.4, 0.8], "targets": {"reals_real": 0.6}},
                          "tiny", {}, {"command": "eyegrad train"}, video_band=[0.35, 0.7])
    assert isinstance(meta, ModelMetadata) and meta.schema_version == SCHEMA_VERSION
    assert json.loads(meta.to_json())["schema_version"] == SCHEMA_VERSION
    only_recalibrated = {"recalibrate_command"}  # the shipped model was recalibrated; a fresh export was not
    assert set(meta.to_dict()) == (set(raw_metadata(DEFAULT_MODEL)) - only_recalibrated) | {"schema_version"}
    assert meta.uncertain_band == (0.4, 0.8) and meta.calibration == {"targets": {"reals_real": 0.6}}
    assert meta.video_band == (0.35, 0.7)
    assert ModelMetadata.from_json(meta.to_json().encode("utf-8")) == meta


def test_unknown_keys_are_preserved() -> None:
    """A key this runtime does not know is kept in ``extras`` and written back by ``to_dict``."""
    raw = {**raw_metadata(DEFAULT_MODEL), "app": {"store_id": 7}}
    meta = ModelMetadata.from_json(raw)
    assert meta.extras == {"app": {"store_id": 7}} and meta["app"] == {"store_id": 7}
    assert meta.to_dict() == {**raw, "schema_version": 1}
    assert ModelMetadata.from_json(meta.to_json()) == meta
    changed = dataclasses.replace(meta, threshold=0.5)  # what recalibration does
    assert changed.extras == meta.extras and changed.to_dict()["app"] == {"store_id": 7}
    with pytest.raises(ValueError, match="extras repeat typed fields"):
        dataclasses.replace(meta, extras={"threshold": 0.1})


@pytest.mark.parametrize("change, message", [
    ({"schema_version": 99}, "model metadata schema version 99 is not supported by this runtime (reads 1)"),
    ({"schema_version": "1"}, "model metadata schema version '1' is not supported"),
    ({"schema_version": 99, "geometry": None}, "schema version 99 is not supported"),  # versions come first
    ({"feature_version": "eyeband-sobel-v999"}, "model feature version 'eyeband-sobel-v999' is not supported "
                                                "by this runtime (expects 'eyeband-sobel-v3')"),
    ({"views": "band"}, "malformed 'eyegrad' metadata: 'views' must be a list of view names"),
    ({"teacher": "big"}, "malformed 'eyegrad' metadata: 'teacher' must be a JSON object, got str"),
])
def test_unknown_versions_and_wrong_types_are_refused(change: Dict, message: str) -> None:
    with pytest.raises(ModelError) as info:
        ModelMetadata.from_json({**raw_metadata(DEFAULT_MODEL), **change})
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.fixture(scope="module")
def embed():
    return pytest.importorskip("eyegrad.optimize.export", reason="needs TensorFlow (the train extra)").embed_metadata


def test_a_model_of_an_unknown_schema_is_refused_at_load(embed, tmp_path: Path, capsys) -> None:
    path = tmp_path / "schema99.tflite"
    path.write_bytes(embed(DEFAULT_MODEL.read_bytes(), {**raw_metadata(DEFAULT_MODEL), "schema_version": 99}))
    with pytest.raises(ModelError, match="schema version 99 is not supported"):
        EyeModel(path)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"eyegrad: error: {path}: model metadata schema version 99") and err.count("\n") == 1


def test_eyegrad_info_prints_the_embedded_json_with_its_extras(embed, tmp_path: Path, capsys) -> None:
    meta = dataclasses.replace(EyeModel().metadata, extras={"app": [1, 2]})
    path = tmp_path / "extras.tflite"
    path.write_bytes(embed(DEFAULT_MODEL.read_bytes(), meta))
    assert raw_metadata(path) == json.loads(meta.to_json())
    assert main(["info", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == {**raw_metadata(DEFAULT_MODEL), "schema_version": 1, "app": [1, 2]}


# -- verdicts ------------------------------------------------------------------------------------

def test_verdict_values_are_the_documented_strings() -> None:
    assert tuple(v.value for v in Verdict) == DOCUMENTED_VERDICTS == VERDICTS
    for v in Verdict:
        assert v == v.value and str(v) == v.value and f"{v:<9}" == f"{v.value:<9}"
        assert {v.value: 1}[v] == 1  # hashes like its string: counters and dicts mix both
        assert json.dumps(v) == json.dumps(v.value)


def test_results_json_holds_only_the_verdict_strings(results: List[DetectResult]) -> None:
    assert {r.verdict for r in results} >= {Verdict.NO_FACE, Verdict.ERROR}
    assert len({r.verdict for r in results}) >= 4
    for r in results:
        assert isinstance(r.verdict, Verdict)
        d = r.to_dict()
        assert type(d["verdict"]) is str and d["verdict"] in DOCUMENTED_VERDICTS
        text = json.dumps(d)
        assert "Verdict" not in text and json.loads(text)["verdict"] == r.verdict.value


# -- the detect result schema --------------------------------------------------------------------

@pytest.fixture(scope="module")
def validator():
    """A JSON Schema (2020-12, as OpenAPI 3.1) validator of ``schema.detect_result_schema()``."""
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (the dev extra) validates the contracts")
    schema = detect_result_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(validator, obj: Dict) -> List[str]:
    """Every way ``obj`` breaks the schema, one line each (empty: it follows it)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


def test_real_results_follow_the_schema(results: List[DetectResult], validator) -> None:
    for r in results:
        d = json.loads(json.dumps(r.to_dict()))
        assert schema_errors(validator, d) == [], r.path
        assert list(d) == [f.name for f in DETECT_RESULT]  # exactly the fields, in order
        for face in d["faces"]:
            assert list(face) == [f.name for f in FACE]


def test_a_video_result_follows_the_schema(detector: Detector, sample_images: List[Path], validator,
                                           tmp_path: Path) -> None:
    clip = write_video(tmp_path / "face.avi", face_clip(sample_images[0], 10))
    d = json.loads(json.dumps(detector.detect(clip).to_dict()))
    assert d["verdict"] != Verdict.ERROR and d["timeline"]
    assert schema_errors(validator, d) == []
    assert list(d) == [f.name for f in (*DETECT_RESULT, *VIDEO_RESULT)]


def test_the_schema_refuses_what_the_contract_forbids(results: List[DetectResult], validator) -> None:
    """The validator is not a rubber stamp: a wrong verdict, a boolean p_fake, a null where none is
    allowed, a missing field and a three-number box are each refused."""
    d = json.loads(json.dumps(next(r for r in results if r.faces).to_dict()))
    broken = [{**d, "verdict": "maybe"}, {**d, "p_fake": True}, {**d, "faces": None},
              {k: v for k, v in d.items() if k != "timing_ms"},
              {**d, "faces": [{**d["faces"][0], "box": d["faces"][0]["box"][:3]}]}]
    for case in broken:
        assert schema_errors(validator, case), case


def test_openapi_detect_result_lists_the_fields_of_a_real_result(results: List[DetectResult]) -> None:
    from eyegrad.runtime.web.openapi import openapi_spec  # imports no Flask

    schema = openapi_spec(1024)["components"]["schemas"]["DetectResult"]
    result = next(r for r in results if r.faces).to_dict()
    assert schema["required"] == list(result)
    # optional: the video fields, and the web's key_frames of a video explained
    assert list(schema["properties"]) == [*result, *(f.name for f in VIDEO_RESULT), "key_frames"]
    assert schema["properties"]["verdict"]["enum"] == list(DOCUMENTED_VERDICTS)
    for name, prop in schema["properties"].items():
        assert ("null" in prop["type"]) == (name in ("path", "p_fake", "error")), name
    face = schema["properties"]["faces"]["items"]
    assert face["required"] == list(result["faces"][0])
    assert list(face["properties"]) == [*result["faces"][0], "explain", "occlusion_range"]  # web-only, optional


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_scan_columns_are_the_schema_fields_plus_the_scan_extras(fmt: str, detector: Detector,
                                                                 sample_images: List[Path], tmp_path: Path) -> None:
    expected = [*(f.name for f in DETECT_RESULT), *SCAN_EXTRAS]
    bad = tmp_path / "empty.jpg"
    bad.write_bytes(b"")
    records = [scan_record(detector, str(p)) for p in [*sample_images, bad]]
    assert all(list(r) == expected for r in records)
    out = tmp_path / f"results.{fmt}"
    store = results_file(str(out))
    with store:
        store.append(records)
    if fmt == "csv":
        assert out.read_text().splitlines()[0] == ",".join(expected)
    if fmt == "parquet":
        pq = pytest.importorskip("pyarrow.parquet")
        (part,) = out.glob("part-*.parquet")
        schema = pq.read_schema(part)
        assert schema.names == expected
        assert {n: str(schema.field(n).type) for n in ("p_fake", "file_size", "faces")} == {
            "p_fake": "double", "file_size": "int64", "faces": "string"}
    back = list(store.read())
    assert [list(r) for r in back] == [expected] * len(records)
    assert [r["verdict"] for r in back] == [r["verdict"] for r in records]
    assert all(type(r["verdict"]) is str for r in back)


def test_schema_fields_describe_every_column() -> None:
    for f in (*DETECT_RESULT, *FACE):
        assert isinstance(f, Field) and f.description and f.type in JSON_TYPES
