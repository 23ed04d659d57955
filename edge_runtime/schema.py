"""The detect result's fields, described once (docs/api.md section 2).

The web API's OpenAPI ``DetectResult`` (``web/openapi.py``) and the columns of scan results
files (``scan/store.py``) are derived from ``DETECT_RESULT``; ``DetectResult.to_dict`` writes
these fields in this order.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, NamedTuple, Optional, Sequence

from .results import TIMING_KEYS, Verdict

#: JSON Schema types whose values are nested (arrays and objects); the others are scalars.
NESTED_TYPES = ("array", "object")

_BOX = {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4,
        "description": "[x, y, w, h] in image pixels"}
_SCORE = {"type": "number", "minimum": 0, "maximum": 1}


class Field(NamedTuple):
    """One field of a JSON record: its JSON Schema (without null), whether it may be null, and its meaning."""

    name: str
    schema: Mapping[str, Any]
    nullable: bool
    description: str

    @property
    def type(self) -> str:
        """The JSON Schema type of a non-null value."""
        return self.schema["type"]

    @property
    def nested(self) -> bool:
        """Whether values are arrays or objects (JSON text in flat files such as CSV)."""
        return self.type in NESTED_TYPES

    def json_schema(self) -> Dict[str, Any]:
        """The field's JSON Schema (OpenAPI 3.1): null added to the type when the field is nullable."""
        out = {**self.schema, "description": self.description}
        if self.nullable:
            out["type"] = [self.type, "null"]
        return out


def object_schema(fields: Sequence[Field], extra_properties: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """JSON Schema of an object that always has ``fields`` and may have ``extra_properties``."""
    properties = {f.name: f.json_schema() for f in fields}
    return {"type": "object", "required": [f.name for f in fields],
            "properties": {**properties, **(extra_properties or {})}}


#: One face of a detect result (``FaceResult.to_dict``).
FACE = (
    Field("box", _BOX, False, "the face box in image pixels (after EXIF orientation)"),
    Field("eyes", {"type": "array", "items": _BOX, "minItems": 2, "maxItems": 2}, False,
          "the two eye boxes, image-left eye first"),
    Field("eyes_from", {"type": "string", "enum": ["cascade", "geometry"]}, False,
          "cascade: found by the eye cascade; geometry: placed from the face box"),
    Field("p_fake", _SCORE, False, "the face's score: the mean over the model's views and zooms"),
)

#: The detect result of one image (``DetectResult.to_dict``).
DETECT_RESULT = (
    Field("path", {"type": "string"}, True, "the input's path (web API: the uploaded file's name)"),
    Field("verdict", {"type": "string", "enum": [v.value for v in Verdict]}, False,
          "real, fake or uncertain by the model's uncertain band; no_face; error: the input could not be used"),
    Field("p_fake", _SCORE, True, "the highest face's p_fake; null for no_face and error"),
    Field("faces", {"type": "array", "items": object_schema(FACE)}, False, "every face found, largest first"),
    Field("timing_ms", {"type": "object", "additionalProperties": {"type": "number"}}, False,
          f"milliseconds per stage: {', '.join(TIMING_KEYS)} (an open map: more stages may be added)"),
    Field("error", {"type": "string"}, True, "for verdict error: what was wrong, in one line"),
)


def detect_result_schema(face_properties: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """JSON Schema of the detect result; ``face_properties`` adds optional properties to each face."""
    schema = object_schema(DETECT_RESULT)
    schema["properties"]["faces"]["items"] = object_schema(FACE, face_properties)
    return schema
