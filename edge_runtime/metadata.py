"""The typed contract of the JSON metadata inside every eyegrad .tflite (docs/api.md section 7).

``ModelMetadata.from_json`` validates the metadata against this runtime with one-line
``ModelError`` messages; ``to_json`` is what ``eyegrad optimize`` embeds. Rules:

- ``schema_version`` absent means 1: every model exported before the field existed is schema 1.
  A schema or feature version this runtime does not know is refused before anything else is read.
- ``feature_version``, ``geometry``, ``threshold`` and ``uncertain_band`` are required;
  ``views`` and ``zooms`` default to ``("band",)`` and ``(1.0,)`` and are always written.
- ``video_band`` is the uncertain band of a video's combined score; a model without one gives
  videos its ``uncertain_band``.
- The other known keys record how the model was made: None means not recorded and is
  written as null, except ``recalibrate_command``, which only recalibrated models carry.
- Unknown keys are preserved: ``extras`` keeps them and ``to_dict`` writes them back, so keys
  of a newer exporter or an app survive a re-embed and show in ``eyegrad info``.

``ModelMetadata`` is also a read-only ``Mapping`` over its JSON object (``meta["zooms"]`` is a
list), so code that reads the JSON keeps working; new code reads the typed attributes.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Iterator, Optional, Tuple, Union

from .errors import ModelError
from .features import FEATURE_VERSION, BandGeometry

#: Name of the TFLite metadata entry that holds the JSON.
METADATA_NAME = "eyegrad"
#: The schema this runtime writes, and those it reads.
SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = (1,)
#: The schema of metadata without ``schema_version``: every model exported before the field existed.
UNVERSIONED_SCHEMA = 1
#: Keys a model cannot be used without.
REQUIRED = ("geometry", "threshold", "uncertain_band")
#: The eye-spacing factors ``zooms`` may hold.
ZOOM_RANGE = (0.5, 2.0)


def malformed(problem: str) -> ModelError:
    """The error for metadata that this runtime cannot read."""
    return ModelError(f"malformed '{METADATA_NAME}' metadata: {problem}")


def check_versions(schema_version: Any, feature_version: Any) -> None:
    """Refuse metadata of a schema or a feature recipe this runtime does not know."""
    if isinstance(schema_version, bool) or schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ModelError(f"model metadata schema version {schema_version!r} is not supported by this runtime "
                         f"(reads {', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}): update eyegrad")
    if feature_version != FEATURE_VERSION:
        raise ModelError(f"model feature version {feature_version!r} is not supported by this runtime "
                         f"(expects {FEATURE_VERSION!r}): update eyegrad or re-export the model")


#: The Python types a value of each JSON type may be given as (a bool is no number).
ACCEPTED_TYPES = {"string": (str,), "number": (int, float), "integer": (int,), "array": (list, tuple),
                  "object": (dict,)}


def recorded(json_type: str, only_when_set: bool = False) -> Any:
    """A provenance field: None (not recorded) or a value of ``json_type`` (a key of ACCEPTED_TYPES)."""
    return field(default=None, metadata={"json_type": json_type, "only_when_set": only_when_set})


def typed_value(name: str, value: Any, json_type: str) -> Any:
    """``value`` of a provenance field as its attribute holds it (arrays as tuples, numbers as floats)."""
    if isinstance(value, bool) or not isinstance(value, ACCEPTED_TYPES[json_type]):
        raise malformed(f"'{name}' must be a JSON {json_type}, got {type(value).__name__}")
    if json_type == "number":
        return float(value)
    return tuple(value) if json_type == "array" else value


@dataclass(frozen=True)
class ModelMetadata(Mapping):
    """What a runtime needs to use a model, and how the model was made (schema 1)."""

    feature_version: str
    geometry: BandGeometry
    threshold: float
    uncertain_band: Tuple[float, float]
    views: Tuple[str, ...] = ("band",)
    zooms: Tuple[float, ...] = (1.0,)
    schema_version: int = SCHEMA_VERSION
    name: Optional[str] = recorded("string")
    variant: Optional[str] = recorded("string")
    channels: Optional[Tuple[str, ...]] = recorded("array")
    feature_scale: Optional[float] = recorded("number")
    feature_clip: Optional[float] = recorded("number")
    supersample: Optional[int] = recorded("integer")
    crop: Optional[Dict[str, str]] = recorded("object")
    input: Optional[Dict[str, Any]] = recorded("object")
    labels: Optional[Tuple[str, ...]] = recorded("array")
    output: Optional[str] = recorded("string")
    calibration: Optional[Dict[str, Any]] = recorded("object")
    metrics: Optional[Dict[str, Any]] = recorded("object")
    training: Optional[Dict[str, Any]] = recorded("object")
    teacher: Optional[Dict[str, Any]] = recorded("object")
    optimize_command: Optional[str] = recorded("string")
    recalibrate_command: Optional[str] = recorded("string", only_when_set=True)
    video_band: Optional[Tuple[float, float]] = recorded("array", only_when_set=True)
    sparsity: Optional[float] = recorded("number")
    created: Optional[str] = recorded("string")
    #: Keys this runtime does not know, kept as read.
    extras: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_versions(self.schema_version, self.feature_version)
        if not isinstance(self.geometry, BandGeometry):
            raise malformed(f"'geometry' must be a BandGeometry, got {type(self.geometry).__name__}")
        typed = {"threshold": self._number("threshold", self.threshold),
                 "uncertain_band": self._band("uncertain_band"), "zooms": self._zooms(), "views": self._views()}
        lo, hi = typed["uncertain_band"]
        if not (0.0 <= lo <= hi <= 1.0 and 0.0 <= typed["threshold"] <= 1.0):
            raise malformed(f"needs 0 <= uncertain_band[0] <= uncertain_band[1] <= 1 and 0 <= threshold <= 1, "
                            f"got {[lo, hi]} and {typed['threshold']}")
        for f in fields(self):
            value = getattr(self, f.name)
            if "json_type" in f.metadata and value is not None:
                typed[f.name] = typed_value(f.name, value, f.metadata["json_type"])
        if self.video_band is not None:
            typed["video_band"] = self._band("video_band")
            if not 0.0 <= typed["video_band"][0] <= typed["video_band"][1] <= 1.0:
                raise malformed(f"needs 0 <= video_band[0] <= video_band[1] <= 1, got {list(typed['video_band'])}")
        clash = set(self.extras) & FIELD_NAMES
        if clash:
            raise ValueError(f"extras repeat typed fields: {sorted(clash)}")
        for name, value in typed.items():
            object.__setattr__(self, name, value)  # frozen: normalised once, here

    @staticmethod
    def _number(name: str, value: Any) -> float:
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise malformed(f"'{name}': {exc}") from None

    def _band(self, name: str) -> Tuple[float, float]:
        try:
            lo, hi = getattr(self, name)
        except (TypeError, ValueError) as exc:
            raise malformed(f"'{name}' must be [lo, hi]: {exc}") from None
        return self._number(name, lo), self._number(name, hi)

    def _views(self) -> Tuple[str, ...]:
        if not (isinstance(self.views, (list, tuple)) and self.views and all(isinstance(v, str) for v in self.views)):
            raise malformed(f"'views' must be a list of view names, got {self.views!r}")
        return tuple(self.views)

    def _zooms(self) -> Tuple[float, ...]:
        low, high = ZOOM_RANGE
        z = self.zooms
        if not (isinstance(z, (list, tuple)) and z and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high for v in z)):
            raise malformed(f"'zooms' must be a list of numbers between {low:g} and {high:g}, got {z!r}")
        return tuple(float(v) for v in z)

    @classmethod
    def from_json(cls, data: Union[bytes, str, Mapping]) -> "ModelMetadata":
        """Validated metadata from its JSON text (bytes are UTF-8) or an already parsed object."""
        if isinstance(data, (bytes, str)):
            try:
                data = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise malformed(str(exc)) from None
        if not isinstance(data, Mapping):
            raise malformed("not a JSON object")
        schema_version = data.get("schema_version", UNVERSIONED_SCHEMA)
        check_versions(schema_version, data.get("feature_version"))
        for key in REQUIRED:
            if key not in data:
                raise malformed(f"missing '{key}'")
        try:
            geometry = BandGeometry.from_dict(data["geometry"])
        except (KeyError, TypeError, ValueError):
            raise malformed(f"'geometry' needs numbers height, width, eye_y and eye_spacing, "
                            f"got {data['geometry']!r}") from None
        known = {k: v for k, v in data.items() if k in FIELD_NAMES}
        extras = {k: v for k, v in data.items() if k not in FIELD_NAMES}
        return cls(**{**known, "schema_version": schema_version, "geometry": geometry}, extras=extras)

    def to_dict(self) -> Dict[str, Any]:
        """The JSON object (a deep copy): every field but unset ``only_when_set`` ones, then the extras."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extras" or (value is None and f.metadata.get("only_when_set")):
                continue
            if isinstance(value, BandGeometry):
                value = value.to_dict()
            out[f.name] = list(value) if isinstance(value, tuple) else copy.deepcopy(value)
        return {**out, **copy.deepcopy(self.extras)}

    def to_json(self) -> str:
        """The JSON text embedded in a model (keys sorted, so an export is reproducible)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


#: Names of the typed fields (every other key of the JSON goes to ``extras``).
FIELD_NAMES = frozenset(f.name for f in fields(ModelMetadata)) - {"extras"}
