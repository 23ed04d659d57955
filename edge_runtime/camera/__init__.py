"""``eyegrad camera``: frame sources, face tracking with verdict smoothing, and the loop."""
from .loop import CameraLoop, LoopOptions, Summary, stop_on_signals
from .sources import Frame, FrameSource, SourceError, open_source
from .tracking import Track, Tracker

__all__ = ["CameraLoop", "LoopOptions", "Summary", "stop_on_signals", "Frame", "FrameSource", "SourceError",
           "open_source", "Track", "Tracker"]
