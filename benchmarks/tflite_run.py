"""Run any one-input, one-output .tflite: quantize in, dequantize out, time ``invoke()``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Union

import numpy as np

from eyegrad.runtime.model import interpreter_class

from eyegrad.runtime.timing import time_call


class TfliteRunner:
    """A TFLite interpreter with float in and out, whatever the model's own input type."""

    def __init__(self, model: Union[bytes, str, os.PathLike], num_threads: int = 1) -> None:
        content = model if isinstance(model, bytes) else Path(model).read_bytes()
        self.size_bytes = len(content)
        self.interpreter = interpreter_class()(model_content=content, num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    def set_input(self, x: np.ndarray) -> None:
        """Set one example (without the batch axis), quantized when the model wants integers."""
        scale, zero = self.input["quantization"]
        x = np.asarray(x, np.float32)[None]
        if self.input["dtype"] != np.float32 and scale:
            info = np.iinfo(self.input["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max)
        self.interpreter.set_tensor(self.input["index"], x.astype(self.input["dtype"]))

    def output_value(self) -> np.ndarray:
        """The dequantized output of the last ``invoke()``, without the batch axis."""
        scale, zero = self.output["quantization"]
        y = self.interpreter.get_tensor(self.output["index"]).astype(np.float32)
        return ((y - zero) * scale if self.output["dtype"] != np.float32 and scale else y)[0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.set_input(x)
        self.interpreter.invoke()
        return self.output_value()

    def invoke_latency(self, x: np.ndarray, runs: int, warmup: int) -> Dict[str, float]:
        """Latency of ``invoke()`` alone (ms) on the example ``x``."""
        self.set_input(x)
        return time_call(self.interpreter.invoke, runs, warmup)
