"""Load an eyegrad .tflite model with its embedded metadata and run it.

A model must carry JSON metadata under the name ``eyegrad`` with a feature version this
runtime knows; it runs on the interpreter of ``interpreter.py`` (float in, float out).
"""
from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np

from .errors import ModelError
from .boxes import Face
from .features import CHANNELS, BandGeometry, band_features, face_band, mirror_features
from .interpreter import TfliteModel, read_model
from .metadata import METADATA_NAME, ModelMetadata
from .tflite_metadata import read_metadata_entries

#: The shipped model (package data of ``eyegrad.models``), used when no model is given.
DEFAULT_MODEL = Path(str(importlib.resources.files("eyegrad.models").joinpath("eyegrad.tflite")))



def parse_metadata(model_bytes: bytes) -> ModelMetadata:
    """The eyegrad metadata of a model file's bytes, validated against this runtime."""
    entries = read_metadata_entries(model_bytes)
    if METADATA_NAME not in entries:
        raise ModelError(f"model has no '{METADATA_NAME}' metadata: export it with `eyegrad optimize`")
    return ModelMetadata.from_json(entries[METADATA_NAME])


class EyeModel:
    """A loaded eyegrad model: metadata, geometry and a ``predict`` over feature tensors.

    Raises ``ModelError`` (one line, naming the file) when the model cannot be used: the file
    cannot be read, is not a .tflite TFLite loads, carries no ``eyegrad`` metadata or metadata
    this runtime does not support (schema or feature version, malformed fields), has an input
    shape other than its geometry's features or an output other than one p_fake, or when no
    TFLite interpreter is installed.
    """

    def __init__(self, path: Union[str, os.PathLike, None] = None, num_threads: Optional[int] = None) -> None:
        self.path = Path(path) if path is not None else DEFAULT_MODEL
        model_bytes = read_model(self.path)
        try:
            self.metadata = parse_metadata(model_bytes)
        except ModelError as exc:
            raise ModelError(f"{self.path}: {exc}") from None
        self.geometry = self.metadata.geometry
        #: The loaded .tflite: ``predict_one`` runs it, golden files and benchmarks read its tensors.
        self.tflite = TfliteModel(model_bytes, num_threads=num_threads, name=str(self.path))
        expected = (1, self.geometry.height, self.geometry.width, len(CHANNELS))
        if self.tflite.input_shape != expected:
            raise ModelError(f"{self.path}: model input shape {self.tflite.input_shape} does not match its "
                             f"metadata geometry and the features {expected}")
        if int(np.prod(self.tflite.output_shape)) != 1:
            raise ModelError(f"{self.path}: model output shape {self.tflite.output_shape} "
                             f"is not one p_fake per image")

    @property
    def interpreter(self):
        """The TFLite Interpreter the model runs on (its module names the interpreter used)."""
        return self.tflite.interpreter

    @property
    def threshold(self) -> float:
        return self.metadata.threshold

    @property
    def uncertain_band(self) -> Tuple[float, float]:
        return self.metadata.uncertain_band

    @property
    def video_band(self) -> Tuple[float, float]:
        """The uncertain band of a video's combined score: the metadata's ``video_band``, else the image band."""
        return self.metadata.video_band or self.metadata.uncertain_band

    def predict_one(self, features: np.ndarray) -> float:
        """p_fake for one feature tensor (H x W x C float32)."""
        return float(np.clip(self.tflite.predict(features).reshape(-1)[0], 0.0, 1.0))

    @property
    def views(self) -> Tuple[str, ...]:
        """The band views whose p_fake is averaged: ``band`` and, if listed, ``mirrored``."""
        return self.metadata.views

    @property
    def zooms(self) -> Tuple[float, ...]:
        """The eye-spacing factors of the bands a face is cut at (``BandGeometry.zoomed``);
        1.0 alone when the metadata lists none."""
        return self.metadata.zooms

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
