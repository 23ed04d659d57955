"""The detect result's fields, described once (docs/api.md section 2).

The web API's OpenAPI ``DetectResult`` (``web/openapi.py``) and the columns of scan results
files (``scan/store.py``) are derived from ``DETECT_RESULT``; ``DetectResult.to_dict`` writes
these fields in this order.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, NamedTuple, Optional, Sequence

from .boxes import EYE_ORIGINS
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
    Field("eyes_from", {"type": "string", "enum": list(EYE_ORIGINS)}, False,
          "landmarks: placed by the landmark model; cascade: found by the eye cascade; "
          "geometry: placed from the face box"),
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


#: One face of one sampled video frame (``results.TrackScore``).
TRACK_SCORE = (
    Field("track", {"type": "integer"}, False, "the face track it belongs to"),
    Field("p_fake", _SCORE, False, "the face's p_fake in this frame"),
    Field("box", _BOX, False, "the face box in frame pixels"),
)
#: One sampled video frame (``results.TimelinePoint``).
TIMELINE_POINT = (
    Field("frame", {"type": "integer"}, False, "the frame's index in the file"),
    Field("t", {"type": "number"}, False, "its time in seconds"),
    Field("faces", {"type": "array", "items": object_schema(TRACK_SCORE)}, False, "the faces scored in it"),
    Field("error", {"type": "string"}, True, "why the frame could not be scored"),
)
#: One face followed through a video (``results.TrackSummary``).
TRACK = (
    Field("id", {"type": "integer"}, False, "the track's id"),
    Field("frames", {"type": "integer"}, False, "sampled frames it was seen in"),
    Field("p_fake", _SCORE, False, "its frames' p_fake combined by the aggregation rule"),
    Field("steady", {"type": "boolean"}, False, "seen in enough frames to count for the verdict"),
)
#: What a video file's result adds to ``DETECT_RESULT`` (``results.VideoSummary``).
VIDEO_RESULT = (
    Field("frames", {"type": "integer"}, False, "sampled frames that decoded and were scored"),
    Field("duration_s", {"type": "number"}, False, "the video's duration in seconds"),
    Field("aggregation", {"type": "string"}, False, "how a track's frame scores were combined"),
    Field("tracks", {"type": "array", "items": object_schema(TRACK)}, False, "every face track"),
    Field("timeline", {"type": "array", "items": object_schema(TIMELINE_POINT)}, False,
          "every sampled frame, in order"),
)


def detect_result_schema(face_properties: Optional[Mapping[str, Any]] = None,
                         video_properties: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """JSON Schema of the detect result; ``face_properties`` adds optional properties to each face.

    The ``VIDEO_RESULT`` fields (and ``video_properties``) are optional: only a video's result has them.
    """
    schema = object_schema(DETECT_RESULT, {**{f.name: f.json_schema() for f in VIDEO_RESULT},
                                           **(video_properties or {})})
    schema["properties"]["faces"]["items"] = object_schema(FACE, face_properties)
    return schema
