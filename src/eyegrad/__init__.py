"""eyegrad: tell real face photos from deepfakes by the gradients of the eye region.

``from eyegrad import Detector`` is the Python API; ``eyegrad.runtime`` needs only numpy,
OpenCV, Pillow and a TFLite interpreter. ``eyegrad.train`` and ``eyegrad.optimize`` need the
``train`` extra; ``eyegrad.benchmarks`` needs it only to plot and to convert Meso-4 from Keras.
"""
from .runtime import Box, Detector, DetectResult, EyegradError, Face, FaceResult, InputError, ModelError

__version__ = "0.6.0"

__all__ = ["Box", "Detector", "DetectResult", "EyegradError", "Face", "FaceResult", "InputError", "ModelError",
           "__version__"]
