"""``eyegrad camera``: frame sources and the loop (face tracks: ``eyegrad.runtime.tracking``)."""
from .loop import CameraLoop, LoopOptions, Summary, stop_on_signals
from .sources import Frame, FrameSource, SourceError, open_source
from ..tracking import Track, Tracker

__all__ = ["CameraLoop", "LoopOptions", "Summary", "stop_on_signals", "Frame", "FrameSource", "SourceError",
           "open_source", "Track", "Tracker"]
