"""Load an eyegrad .tflite model with its embedded metadata and run it.

The interpreter comes from ``ai_edge_litert`` (LiteRT), else ``tflite_runtime``,
else ``tensorflow.lite`` ($EYEGRAD_INTERPRETER forces one). A model must carry JSON metadata under the name
``eyegrad`` with a feature version this runtime knows.
"""
from __future__ import annotations

import importlib
import importlib.resources
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from .errors import ModelError
from .boxes import Face
from .features import CHANNELS, FEATURE_VERSION, BandGeometry, band_features, face_band, mirror_features
from .tflite_metadata import read_metadata_entries

#: Name of the metadata entry that holds eyegrad's JSON.
METADATA_NAME = "eyegrad"
#: The shipped model (package data of ``eyegrad.models``), used when no model is given.
DEFAULT_MODEL = Path(str(importlib.resources.files("eyegrad.models").joinpath("eyegrad.tflite")))


#: Environment variable that forces one interpreter (a key of ``INTERPRETERS``), e.g. for
#: checking a model on the old ``tflite_runtime`` when LiteRT is installed too.
INTERPRETER_ENV = "EYEGRAD_INTERPRETER"
#: The interpreters tried, in order: name -> (module, attribute path of the Interpreter class).
INTERPRETERS = {"litert": ("ai_edge_litert.interpreter", "Interpreter"),
                "tflite_runtime": ("tflite_runtime.interpreter", "Interpreter"),
                "tensorflow": ("tensorflow", "lite.Interpreter")}


def _load_interpreter(name: str) -> type:
    module, attr = INTERPRETERS[name]
    obj = importlib.import_module(module)  # tensorflow is the last resort only: the runtime does not need it
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def interpreter_class() -> type:
    """The TFLite Interpreter class: the one named by $EYEGRAD_INTERPRETER, else the first
    available of LiteRT, tflite_runtime and TensorFlow."""
    forced = os.environ.get(INTERPRETER_ENV, "").strip()
    if forced:
        if forced not in INTERPRETERS:
            raise ModelError(f"{INTERPRETER_ENV}={forced!r} is not one of {', '.join(INTERPRETERS)}")
        try:
            return _load_interpreter(forced)
        except ImportError as exc:
            raise ModelError(f"{INTERPRETER_ENV}={forced} but it cannot be imported: {exc}") from None
    for name in INTERPRETERS:
        try:
            return _load_interpreter(name)
        except ImportError:
            continue
    raise ModelError("no TFLite interpreter: pip install ai-edge-litert")


def parse_metadata(model_bytes: bytes) -> Dict[str, Any]:
    """The eyegrad JSON metadata of a model, validated against this runtime."""
    entries = read_metadata_entries(model_bytes)
    if METADATA_NAME not in entries:
        raise ModelError(f"model has no '{METADATA_NAME}' metadata: export it with `eyegrad optimize`")
    try:
        meta = json.loads(entries[METADATA_NAME].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"malformed '{METADATA_NAME}' metadata: {exc}") from None
    if not isinstance(meta, dict):
        raise ModelError(f"malformed '{METADATA_NAME}' metadata: not a JSON object")
    version = meta.get("feature_version")
    if version != FEATURE_VERSION:
        raise ModelError(f"model feature version {version!r} is not supported by this runtime "
                         f"(expects {FEATURE_VERSION!r}): update eyegrad or re-export the model")
    for key in ("geometry", "threshold", "uncertain_band"):
        if key not in meta:
            raise ModelError(f"malformed '{METADATA_NAME}' metadata: missing '{key}'")
    try:
        BandGeometry.from_dict(meta["geometry"])
        lo, hi = (float(v) for v in meta["uncertain_band"])
        threshold = float(meta["threshold"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"malformed '{METADATA_NAME}' metadata: {exc}") from None
    zooms = meta.get("zooms", [1.0])
    if not (isinstance(zooms, list) and zooms and all(isinstance(z, (int, float)) and 0.5 <= z <= 2.0 for z in zooms)):
        raise ModelError(f"malformed '{METADATA_NAME}' metadata: 'zooms' must be a list of numbers "
                         f"between 0.5 and 2, got {zooms!r}")
    if not (0.0 <= lo <= hi <= 1.0 and 0.0 <= threshold <= 1.0):
        raise ModelError(f"malformed '{METADATA_NAME}' metadata: needs 0 <= uncertain_band[0] <= "
                         f"uncertain_band[1] <= 1 and 0 <= threshold <= 1, got {[lo, hi]} and {threshold}")
    return meta


class EyeModel:
    """A loaded eyegrad model: metadata, geometry and a ``predict`` over feature tensors."""

    def __init__(self, path: Union[str, os.PathLike, None] = None, num_threads: Optional[int] = None) -> None:
        self.path = Path(path) if path is not None else DEFAULT_MODEL
        try:
            model_bytes = self.path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read model {self.path}: {exc.strerror or exc}") from None
        try:
            self.metadata = parse_metadata(model_bytes)
        except ModelError as exc:
            raise ModelError(f"{self.path}: {exc}") from None
        self.geometry = BandGeometry.from_dict(self.metadata["geometry"])
        try:
            self.interpreter = interpreter_class()(model_content=model_bytes, num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"TFLite cannot load {self.path}: {str(exc).splitlines()[0]}") from None
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        expected = (1, self.geometry.height, self.geometry.width, len(CHANNELS))
        shape = tuple(int(d) for d in self._input["shape"])
        if shape != expected:
            raise ModelError(f"{self.path}: model input shape {shape} does not match its metadata geometry "
                             f"and the features {expected}")
        if int(np.prod(self._output["shape"])) != 1:
            raise ModelError(f"{self.path}: model output shape {tuple(int(d) for d in self._output['shape'])} "
                             f"is not one p_fake per image")

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @property
    def uncertain_band(self) -> tuple:
        lo, hi = self.metadata["uncertain_band"]
        return float(lo), float(hi)

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        dtype = self._input["dtype"]
        scale, zero = self._input["quantization"]
        if dtype == np.float32 or scale == 0:
            return x.astype(dtype)
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)

    def _dequantize(self, y: np.ndarray) -> np.ndarray:
        scale, zero = self._output["quantization"]
        if self._output["dtype"] == np.float32 or scale == 0:
            return y.astype(np.float32)
        return (y.astype(np.float32) - zero) * scale

    def predict_one(self, features: np.ndarray) -> float:
        """p_fake for one feature tensor (H x W x C float32)."""
        self.interpreter.set_tensor(self._input["index"], self._quantize(features[None]))
        self.interpreter.invoke()
        out = self._dequantize(self.interpreter.get_tensor(self._output["index"]))
        return float(np.clip(out.reshape(-1)[0], 0.0, 1.0))

    @property
    def views(self) -> Tuple[str, ...]:
        """The band views whose p_fake is averaged: ``band`` and, if listed, ``mirrored``."""
        return tuple(self.metadata.get("views", ("band",)))

    @property
    def zooms(self) -> Tuple[float, ...]:
        """The eye-spacing factors of the bands a face is cut at (``BandGeometry.zoomed``);
        models exported before session 5 have none but 1.0."""
        return tuple(float(z) for z in self.metadata.get("zooms", (1.0,)))

    @property
    def primary_geometry(self) -> BandGeometry:
        """The band of the first zoom: the one explanations occlude and golden files record."""
        return self.geometry.zoomed(self.zooms[0])

    def band_views(self, band: np.ndarray) -> List[np.ndarray]:
        """The feature tensors of one aligned (supersampled) uint8 eye band, one per view."""
        features = band_features(band)
        return [mirror_features(features) if v == "mirrored" else features for v in self.views]

    def face_views(self, gray: np.ndarray, face: Face) -> List[np.ndarray]:
        """The feature tensors of one face: every view of its eye band cut at every zoom."""
        return [x for z in self.zooms for x in self.band_views(face_band(gray, face, self.geometry.zoomed(z)))]

    def score_views(self, views: List[np.ndarray]) -> float:
        """p_fake of one face: the mean over its views."""
        return float(np.mean([self.predict_one(x) for x in views]))

    def score_band(self, band: np.ndarray) -> float:
        """p_fake of one aligned uint8 eye band (one zoom), over the model's views (used by
        explanations, which occlude parts of the ``primary_geometry`` band)."""
        return self.score_views(self.band_views(band))

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """p_fake for each feature tensor of a batch (N x H x W x C)."""
        return np.array([self.predict_one(f) for f in batch], dtype=np.float32)
