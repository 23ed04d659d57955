"""Convert a Keras model to .tflite (int8, dynamic-range or float16) and embed metadata."""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, Optional, Union

import flatbuffers
import numpy as np

from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.metadata import METADATA_NAME, ModelMetadata
from eyegrad.runtime.metrics import json_ready
from eyegrad.train.tf import tf

try:
    from tensorflow.lite.python import schema_py_generated as schema
except ImportError:  # pragma: no cover - older TF layouts
    from tflite import schema_py_generated as schema  # type: ignore

QUANT_MODES = ("int8", "dynamic", "float16", "float32")
#: The int8 budget of a shipped model (builtin ops, metadata included).
MAX_MODEL_BYTES = 256 * 1024


def convert(model, mode: str = "int8", representative: Optional[np.ndarray] = None) -> bytes:
    """A .tflite flatbuffer of ``model``; ``int8`` is full-integer with int8 input and output."""
    if mode not in QUANT_MODES:
        raise ValueError(f"unknown quantization mode {mode!r}; choose from {QUANT_MODES}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode == "int8":
        if representative is None or len(representative) == 0:
            raise ValueError("int8 quantization needs representative features")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x[None].astype(np.float32)] for x in representative)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    return bytes(converter.convert())


def metadata_json(obj: Any) -> Dict:
    """``json.dumps`` hook: a ModelMetadata, anywhere in the value, as its JSON object."""
    if isinstance(obj, ModelMetadata):
        return json_ready(obj.to_dict())
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def embed_metadata(model_bytes: bytes, metadata: Union[ModelMetadata, Dict], name: str = METADATA_NAME) -> bytes:
    """Return the model with ``metadata`` (JSON, keys sorted) stored as the named metadata entry; an
    entry of that name is overwritten in its own buffer, so re-embedding does not grow the file.
    ``metadata`` is a ModelMetadata, or any JSON value (tests embed broken metadata on purpose)."""
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    text = json.dumps(json_ready(metadata), sort_keys=True, default=metadata_json, allow_nan=False)
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    model.metadata = list(model.metadata or [])
    entry = next((m for m in model.metadata if (m.name or b"").decode() == name), None)
    if entry is None:
        model.buffers.append(schema.BufferT())
        entry = schema.MetadataT()
        entry.name, entry.buffer = name, len(model.buffers) - 1
        model.metadata.append(entry)
    model.buffers[entry.buffer].data = data
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def builtin_op_names(model_bytes: bytes) -> Iterable[str]:
    """Names of the operators a .tflite uses (custom ops as ``CUSTOM:<name>``)."""
    model = schema.Model.GetRootAsModel(model_bytes, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        op = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if op == schema.BuiltinOperator.CUSTOM:
            yield f"CUSTOM:{(code.CustomCode() or b'').decode()}"
        else:
            yield names.get(op, str(op))


def check_size(variant: str, size: int) -> None:
    """A one-line error when an int8 export (with its metadata) exceeds MAX_MODEL_BYTES."""
    if size > MAX_MODEL_BYTES:
        raise EyegradError(f"{variant} is {size} bytes, over the {MAX_MODEL_BYTES} byte limit "
                           f"of the shipped model: make the student smaller (train/models.py)")
