"""eyegrad's edge runtime: numpy + OpenCV + a TFLite interpreter, never TensorFlow."""
from .boxes import Box, Face
from .detector import Detector
from .errors import EyegradError, InputError, ModelError
from .features import FEATURE_VERSION, eye_features
from .metadata import ModelMetadata
from .results import DetectResult, FaceResult, Verdict

__all__ = ["Box", "Face", "Detector", "DetectResult", "FaceResult", "Verdict", "ModelMetadata", "EyegradError",
           "InputError", "ModelError", "FEATURE_VERSION", "eye_features"]
