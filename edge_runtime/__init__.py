"""eyegrad's edge runtime: numpy + OpenCV + a TFLite interpreter, never TensorFlow."""
from .boxes import Box, Face
from .detector import Detector
from .errors import EyegradError, InputError, ModelError
from .features import FEATURE_VERSION, eye_features
from .library_logs import apply_log_levels
from .metadata import ModelMetadata
from .modes import RunningMode
from .results import DetectResult, FaceResult, Verdict

apply_log_levels()  # before any video is opened: the native libraries stay quiet unless verbose

__all__ = ["Box", "Face", "Detector", "DetectResult", "FaceResult", "Verdict", "ModelMetadata", "RunningMode",
           "EyegradError",
           "InputError", "ModelError", "FEATURE_VERSION", "eye_features"]
