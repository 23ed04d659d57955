"""The one reader of video files: a verdict's sampled frames, or every frame for the camera loop.

A video is sampled at ``sample_fps`` frames per second of its duration, at most
``max_frames`` of them spread evenly over the whole file (``VideoFile``); the camera loop
plays a file's every frame in order (``choose=None``). Frames far apart are reached by
seeking, so a two-hour file costs the sampled frames, not a decode of every frame. The
decoding runs in a child process (``video_decode.DecodeProcess``) that is killed when the time
limit passes: a file with one key frame, or a header that lies about its length, can make a
single seek decode for minutes.

The failure rules of a video file, whoever reads it (a live camera or stream is another matter:
``camera.sources`` reconnects it):

- a frame that does not decode is a bad frame, and reading goes on (a verdict leaves it out, the
  camera loop reports it);
- the file ends at its last frame, or after more than ``video_decode.MAX_BAD_RUN`` failed reads
  in a row;
- a file is never reopened or read again: every way it can be unusable (not a video, no video
  stream, no frame that decodes, a resolution above ``MAX_PIXELS``, a decoder that dies, a read
  that takes longer than ``time_limit_s``) raises an ``InputError`` with a one-line message.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Union

import numpy as np

from .aggregation import AGGREGATIONS, DEFAULT_AGGREGATION
from .errors import InputError
from .video_decode import SEEK_GAP, DecodeProcess, VideoInfo

__all__ = ["SEEK_GAP", "IndexChooser", "SampledFrame", "VideoFile", "VideoInfo", "VideoOptions", "read_frames",
           "sample_indices", "thinned"]


@dataclass(frozen=True)
class VideoOptions:
    """How a video file is sampled and its frames' scores combined (``aggregation.AGGREGATIONS``);
    the defaults are those of ``eyegrad detect``. ``time_limit_s`` may be ``math.inf``: no limit."""

    sample_fps: float = 2.0
    max_frames: int = 60
    time_limit_s: float = 120.0
    aggregation: str = DEFAULT_AGGREGATION

    def __post_init__(self) -> None:
        if not (self.sample_fps > 0 and self.max_frames >= 1 and self.time_limit_s > 0):
            raise ValueError("video sampling needs sample_fps > 0, max_frames >= 1 and time_limit_s > 0")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {self.aggregation!r}: one of {', '.join(AGGREGATIONS)}")


class SampledFrame(NamedTuple):
    """One frame read: its index in the file, its time in seconds and its grayscale pixels (None:
    a bad frame, only from ``VideoFile.frames(bad=True)``)."""

    index: int
    time_s: float
    gray: Optional[np.ndarray]


def sample_indices(info: VideoInfo, options: VideoOptions) -> List[int]:
    """Frame indices every ``1 / sample_fps`` seconds, thinned evenly to at most ``max_frames``.

    A stream that does not say how many frames it has (``frames`` <= 0, e.g. a WebM recorded in
    a browser) gets the first ``max_frames`` at that rate: frames past its end do not decode.
    """
    step = max(1, int(round(info.fps / options.sample_fps))) if info.fps > 0 else 1
    if info.frames <= 0:
        return list(range(0, step * options.max_frames, step))
    return thinned(range(0, info.frames, step), options.max_frames)


def thinned(indices: Sequence[int], most: int) -> List[int]:
    """``indices`` (a list or a range: a header may claim billions of frames) thinned evenly to at
    most ``most``, the first and last kept."""
    if len(indices) <= most:
        return list(indices)
    return [indices[i] for i in np.linspace(0, len(indices) - 1, most).round().astype(int)]


#: Which frames of a video to read, from what its container says and the options.
IndexChooser = Callable[[VideoInfo, VideoOptions], List[int]]


class VideoFile:
    """A video file opened for reading (a context manager): ``info``, the ``indices`` to read
    (``choose``: ``sample_indices``, another rule, or None for every frame in order) and, by
    iteration, the ``SampledFrame`` of each that decodes. The file is decoded in a child process,
    so the time limit holds whatever the file says about itself.

    Opening raises InputError when the file is unusable; reading raises it when no frame read
    decodes (a truncated file), when the decoder dies, or when reading takes longer than
    ``options.time_limit_s`` (counted from opening, the caller's work on each frame included).
    """

    def __init__(self, path: Union[str, os.PathLike], options: VideoOptions = VideoOptions(),
                 choose: Optional[IndexChooser] = sample_indices) -> None:
        self.path = Path(path)
        self.options = options
        self._decoder = DecodeProcess(self.path, options.time_limit_s)
        self.info: VideoInfo = self._decoder.info
        try:
            self.indices: Optional[List[int]] = None if choose is None else choose(self.info, options)
        except BaseException:
            self.close()
            raise
        self._last_index = -1

    def __iter__(self) -> Iterator[SampledFrame]:
        return self.frames()

    def frames(self, bad: bool = False) -> Iterator[SampledFrame]:
        """The frames that decode, in order; with ``bad``, a frame that does not is there too,
        with ``gray`` None."""
        fps = self.info.fps if self.info.fps > 0 else 1.0
        for index, gray in self._decoder.frames(self.indices):
            if gray is not None:
                self._last_index = index
            if gray is not None or bad:
                yield SampledFrame(index, index / fps, gray)
        if self._decoder.delivered == 0:
            raise InputError(f"no frame of the video decodes (truncated or corrupt file): {self.path}")

    @property
    def duration_s(self) -> float:
        """The stream's duration, or, when its header gives no length, up to the last frame read."""
        if self.info.frames > 0:
            return self.info.duration_s
        return (self._last_index + 1) / self.info.fps if self.info.fps > 0 else 0.0

    def close(self) -> None:
        self._decoder.close()

    def __enter__(self) -> "VideoFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_frames(path: Union[str, os.PathLike], indices: Sequence[int],
                time_limit_s: float = VideoOptions.time_limit_s) -> Dict[int, np.ndarray]:
    """The frames at ``indices`` of a video file as decoded (BGR), by index: a second look at a few
    frames already sampled (e.g. a verdict's key frames). Frames that do not decode are left out;
    an unusable file, or reading for longer than ``time_limit_s``, raises InputError as ``VideoFile`` does."""
    decoder = DecodeProcess(Path(path), time_limit_s, color=True)
    try:
        return {index: bgr for index, bgr in decoder.frames(sorted(set(indices))) if bgr is not None}
    finally:
        decoder.close()
