"""Convert a Keras model to .tflite (int8, dynamic-range or float16) and embed metadata."""
from __future__ import annotations

import json
from typing import Dict, Iterable, Optional

import flatbuffers
import numpy as np

from eyegrad.runtime.model import METADATA_NAME
from eyegrad.train.tf import tf

try:
    from tensorflow.lite.python import schema_py_generated as schema
except ImportError:  # pragma: no cover - older TF layouts
    from tflite import schema_py_generated as schema  # type: ignore

QUANT_MODES = ("int8", "dynamic", "float16", "float32")


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


def embed_metadata(model_bytes: bytes, metadata: Dict, name: str = METADATA_NAME) -> bytes:
    """Return the model with ``metadata`` (JSON) stored as the named metadata entry; an entry of
    that name is overwritten in its own buffer, so re-embedding does not grow the file."""
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    data = np.frombuffer(json.dumps(metadata, sort_keys=True).encode("utf-8"), dtype=np.uint8)
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
