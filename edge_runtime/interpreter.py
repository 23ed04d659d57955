"""The TFLite interpreter behind every model run: eyegrad models and the benchmarks' peer alike.

The Interpreter class comes from ``ai_edge_litert`` (LiteRT), else ``tflite_runtime``, else
``tensorflow.lite`` ($EYEGRAD_INTERPRETER forces one). ``TfliteModel`` wraps one loaded
one-input model with float in and out: inputs are quantized and outputs dequantized by the
model's own scale and zero point, so an int8 and a float32 .tflite are called the same way.
A model with several outputs (the landmark model) reads them by name.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Mapping, Optional, Tuple, Union

import numpy as np

from .errors import ModelError
from .library_logs import tflite_info_hidden

#: Environment variable that forces one interpreter (a key of ``INTERPRETERS``), e.g. for
#: checking a model on the old ``tflite_runtime`` when LiteRT is installed too.
INTERPRETER_ENV = "EYEGRAD_INTERPRETER"
#: The interpreters tried, in order: name -> (module, attribute path of the Interpreter class).
INTERPRETERS = {"litert": ("ai_edge_litert.interpreter", "Interpreter"),
                "tflite_runtime": ("tflite_runtime.interpreter", "Interpreter"),
                "tensorflow": ("tensorflow", "lite.Interpreter")}

ModelSource = Union[bytes, str, os.PathLike]


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


def read_model(path: Union[str, os.PathLike]) -> bytes:
    """The bytes of a model file, or a one-line ModelError."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from None


def quantize(x: np.ndarray, details: Mapping) -> np.ndarray:
    """Float32 ``x`` in a tensor's type: ``round(x / scale + zero_point)`` clipped to the integer
    range (the formula of docs/android.md); only cast for a float tensor."""
    dtype = details["dtype"]
    scale, zero = details["quantization"]
    if dtype == np.float32 or scale == 0:
        return x.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def dequantize(y: np.ndarray, details: Mapping) -> np.ndarray:
    """A tensor's values as float32: ``(y - zero_point) * scale`` for an integer tensor."""
    scale, zero = details["quantization"]
    if details["dtype"] == np.float32 or scale == 0:
        return y.astype(np.float32)
    return (y.astype(np.float32) - zero) * scale


class TfliteModel:
    """A loaded one-input .tflite with float in and out, whatever its tensor types (``output``:
    its first output; ``raw_output_named``: any output of a float model).

    ``model`` is a path or the model's bytes; ``name`` (default: the path) names it in errors.
    """

    def __init__(self, model: ModelSource, num_threads: Optional[int] = None, name: Optional[str] = None) -> None:
        is_bytes = isinstance(model, (bytes, bytearray))
        content = bytes(model) if is_bytes else read_model(model)
        self.name = name or ("model bytes" if is_bytes else os.fspath(model))
        self.size_bytes = len(content)
        try:
            with tflite_info_hidden():
                self.interpreter = interpreter_class()(model_content=content, num_threads=num_threads)
                self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"TFLite cannot load {self.name}: {first}") from None
        self.input_details = self.interpreter.get_input_details()[0]
        self.output_details = self.interpreter.get_output_details()[0]
        #: Output tensor indices by name.
        self.output_indices = {d["name"]: d["index"] for d in self.interpreter.get_output_details()}

    @property
    def input_shape(self) -> Tuple[int, ...]:
        """Shape of the input tensor, batch axis first."""
        return tuple(int(d) for d in self.input_details["shape"])

    @property
    def output_shape(self) -> Tuple[int, ...]:
        """Shape of the output tensor, batch axis first."""
        return tuple(int(d) for d in self.output_details["shape"])

    @property
    def input_type(self) -> str:
        """The input tensor's dtype name, e.g. ``int8`` or ``float32``."""
        return np.dtype(self.input_details["dtype"]).name

    def input_tensor(self, x: np.ndarray) -> np.ndarray:
        """One example (no batch axis) as the interpreter gets it: batch axis added, quantized."""
        return quantize(np.asarray(x, np.float32)[None], self.input_details)

    def set_input(self, x: np.ndarray) -> None:
        """Set one example (no batch axis) as the input of the next ``invoke()``."""
        self.interpreter.set_tensor(self.input_details["index"], self.input_tensor(x))

    def invoke(self) -> None:
        """Run the model on the input set last."""
        self.interpreter.invoke()

    def raw_output(self) -> np.ndarray:
        """The output tensor of the last ``invoke()`` as the model wrote it (batch axis first)."""
        return self.interpreter.get_tensor(self.output_details["index"])

    def raw_output_named(self, name: str) -> np.ndarray:
        """The output tensor ``name`` of the last ``invoke()`` as the model wrote it (batch axis first)."""
        return self.interpreter.get_tensor(self.output_indices[name])

    def output(self) -> np.ndarray:
        """The dequantized output of the last ``invoke()``, without the batch axis."""
        return dequantize(self.raw_output(), self.output_details)[0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The float output for one float example (no batch axis in or out)."""
        self.set_input(x)
        self.invoke()
        return self.output()
