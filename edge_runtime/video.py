"""Read the frames of a video file that a verdict needs: a few per second, seeking, within limits.

A video is sampled at ``sample_fps`` frames per second of its duration, at most
``max_frames`` of them spread evenly over the whole file (``VideoFile``). Frames far apart are reached by
seeking (``CAP_PROP_POS_FRAMES``), so a two-hour file costs the sampled frames, not a decode
of every frame. Every way a file can be unusable (not a video, no video stream, no frame,
a resolution above ``MAX_PIXELS``, a read that takes longer than ``time_limit_s``) raises an
``InputError`` with a one-line message.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, NamedTuple, Sequence, Union

import cv2
import numpy as np

from .aggregation import AGGREGATIONS, DEFAULT_AGGREGATION
from .decode import MAX_PIXELS, array_to_gray
from .errors import InputError

#: A sampled frame at most this many frames after the last one is reached by decoding forward
#: (``grab``); farther ones by seeking, which restarts decoding at the previous key frame.
SEEK_GAP = 48


@dataclass(frozen=True)
class VideoOptions:
    """How a video file is sampled and its frames' scores combined (``aggregation.AGGREGATIONS``);
    the defaults are those of ``eyegrad detect``."""

    sample_fps: float = 2.0
    max_frames: int = 60
    time_limit_s: float = 120.0
    aggregation: str = DEFAULT_AGGREGATION

    def __post_init__(self) -> None:
        if not (self.sample_fps > 0 and self.max_frames >= 1 and self.time_limit_s > 0):
            raise ValueError("video sampling needs sample_fps > 0, max_frames >= 1 and time_limit_s > 0")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {self.aggregation!r}: one of {', '.join(AGGREGATIONS)}")


class VideoInfo(NamedTuple):
    """What the container says about its video stream."""

    frames: int
    fps: float
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps if self.fps > 0 else 0.0


class SampledFrame(NamedTuple):
    """One sampled frame: its index in the file, its time in seconds and its grayscale pixels."""

    index: int
    time_s: float
    gray: np.ndarray


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


def _open(path: Path) -> cv2.VideoCapture:
    """An opened capture of ``path`` with at least one video frame, or a one-line InputError."""
    if not path.is_file():
        raise InputError(f"no such file: {path}" if not path.exists() else f"not a file: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"empty file: {path}")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise InputError(f"not a readable video (no video stream): {path}")
    return cap


def video_info(cap: cv2.VideoCapture, path: Path) -> VideoInfo:
    """The stream's frame count (<= 0: unknown), rate and size; refuses a stream without a picture
    size or with a huge one."""
    info = VideoInfo(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
                     int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    if info.width * info.height == 0:
        raise InputError(f"video has no frames: {path}")
    if info.width * info.height > MAX_PIXELS:
        raise InputError(f"video resolution {info.width}x{info.height} is above the limit of "
                         f"{MAX_PIXELS} pixels: {path}")
    return info


class VideoFile:
    """A video file opened for sampling (a context manager): ``info``, the sampled ``indices``
    (``choose``: ``sample_indices`` or another rule) and, by iteration, the ``SampledFrame`` of each
    that decodes.

    Opening raises InputError when the file is unusable; iterating raises it when no sampled frame
    decodes (a truncated file) or when reading takes longer than ``options.time_limit_s`` (counted
    from opening, the caller's work on each frame included).
    """

    def __init__(self, path: Union[str, os.PathLike], options: VideoOptions = VideoOptions(),
                 choose: IndexChooser = sample_indices) -> None:
        self.path = Path(path)
        self.options = options
        self.deadline = time.monotonic() + options.time_limit_s
        self.cap = _open(self.path)
        try:
            self.info = video_info(self.cap, self.path)
        except InputError:
            self.close()
            raise
        self.indices = choose(self.info, options)

    def __iter__(self) -> Iterator[SampledFrame]:
        fps = self.info.fps if self.info.fps > 0 else 1.0
        position, delivered = 0, 0
        for index in self.indices:
            self._check_deadline(delivered)
            if index - position > SEEK_GAP:
                self.cap.set(cv2.CAP_PROP_POS_FRAMES, index)
                position = index
            ok = True
            while ok and position <= index:
                self._check_deadline(delivered)
                ok = self.cap.grab()
                position += 1
            ok, raw = self.cap.retrieve() if ok else (False, None)
            if not ok or raw is None:
                continue
            delivered += 1
            yield SampledFrame(index, index / fps, array_to_gray(raw))
        if delivered == 0:
            raise InputError(f"no frame of the video decodes (truncated or corrupt file): {self.path}")

    def _check_deadline(self, delivered: int) -> None:
        if time.monotonic() > self.deadline:
            raise InputError(f"video took longer than {self.options.time_limit_s:g} s "
                             f"({delivered} frames read): {self.path}")

    def close(self) -> None:
        self.cap.release()

    def __enter__(self) -> "VideoFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_frames(path: Union[str, os.PathLike], indices: List[int]) -> Dict[int, np.ndarray]:
    """The frames at ``indices`` of a video file as decoded (BGR), by index, each reached by seeking:
    a second look at a few frames already sampled (e.g. a verdict's key frames). Frames that do not
    decode are left out; an unusable file raises InputError, as ``VideoFile`` does."""
    path = Path(path)
    cap = _open(path)
    try:
        video_info(cap, path)  # the same refusals (no frame, a huge resolution) as for sampling
        frames = {}
        for index in sorted(set(indices)):
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = cap.read()
            if ok and frame is not None:
                frames[index] = frame
        return frames
    finally:
        cap.release()
