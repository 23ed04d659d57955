"""Decode chosen frames of a video file in a child process that is killed at a deadline.

A seek is one call into FFmpeg that no deadline can interrupt: in a file with a single key
frame, or whose header claims far more frames than it holds, one seek may decode for minutes.
``DecodeProcess`` runs OpenCV's decoder in a child Python process (``serve_decode``): the
caller waits for each message only until its deadline and then kills the child, so a time
limit holds whatever the file says about itself, and a decoder that crashes on a hostile file
takes only the child with it.

The exchange: the child opens the file and sends ("info", VideoInfo) or ("error", message);
the caller sends the frame indices it wants (ascending), or None for every frame in order; the
child sends ("frame", index, pixels) for each that decodes and ("bad", index) for each that does
not, then ("done",), or ("error", message) when it cannot go on.

The reads follow the rules of a video file (``video.py``): a frame that does not decode is a bad
frame and reading goes on; after more than ``MAX_BAD_RUN`` failed reads in a row the file has
ended (a stream that does not say its length, or says a wrong one). Failed reads with no good
one after them are past the end: no frames.
"""
from __future__ import annotations

import itertools
import math
import os
import pickle
import signal
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np

from .decode import MAX_PIXELS, array_to_gray
from .errors import InputError

#: A chosen frame at most this many frames after the last one is reached by decoding forward
#: (``grab``); farther ones by seeking, which restarts decoding at the previous key frame.
SEEK_GAP = 48
#: A frame rate above this is a broken or lying header: the rate counts as unknown.
MAX_FPS = 1000.0
#: Failed reads in a row after which a video file is taken to have ended.
MAX_BAD_RUN = 30
#: What a read gives: a frame's index and its pixels, or None when it does not decode.
Read = Tuple[int, Optional[np.ndarray]]


class VideoInfo(NamedTuple):
    """What the container says about its video stream (0 frames or 0 fps: not said)."""

    frames: int
    fps: float
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps if self.fps > 0 else 0.0


def check_file(path: Path) -> None:
    """A one-line InputError unless ``path`` is a regular, non-empty file (not a folder, FIFO or device)."""
    if not path.is_file():
        raise InputError(f"no such file: {path}" if not path.exists() else f"not a file: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"empty file: {path}")


def check_resolution(info: VideoInfo, path: Path) -> None:
    """A one-line InputError for a resolution above ``MAX_PIXELS``."""
    if info.width * info.height > MAX_PIXELS:
        raise InputError(f"video resolution {info.width}x{info.height} is above the limit of "
                         f"{MAX_PIXELS} pixels: {path}")


class DecodeProcess:
    """One video file opened in a child process (``info``); ``frames(indices)`` decodes the frames
    asked for, gray or, with ``color``, as decoded (BGR).

    Opening raises InputError when the file is unusable (or its resolution above ``MAX_PIXELS``),
    ``frames`` when the decoder dies; both raise it when ``time_limit_s`` (counted from opening;
    ``math.inf``: no limit) passes while they wait for the child, which is then killed by ``close``.
    """

    def __init__(self, path: Path, time_limit_s: float, color: bool = False) -> None:
        check_file(path)
        self.path, self.time_limit_s = path, time_limit_s
        self.deadline = time.monotonic() + time_limit_s
        self.delivered = 0
        read_end, write_end = os.pipe()
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-c", f"from {__name__} import serve_decode; serve_decode()",
                 os.fspath(path), "color" if color else "gray"],
                stdin=subprocess.PIPE, stdout=write_end, close_fds=True)
        finally:
            os.close(write_end)
        self._conn = Connection(read_end)
        try:
            kind, payload = self._receive()
            if kind == "error":
                raise InputError(payload)
            self.info: VideoInfo = payload
            check_resolution(self.info, path)
        except BaseException:
            self.close()
            raise

    def frames(self, indices: Optional[Sequence[int]]) -> Iterator[Read]:
        """(index, pixels, or None for a bad frame) of the ascending ``indices`` (None: every
        frame), in order, as the module's rules read them."""
        try:
            self._child.stdin.write(pickle.dumps(None if indices is None else list(indices)))
            self._child.stdin.close()
        except BrokenPipeError:
            raise InputError(f"the video decoder stopped on this file (corrupt or hostile): {self.path}") from None
        while True:
            kind, *payload = self._receive()
            if kind == "done":
                return
            if kind == "error":
                raise InputError(payload[0])
            if kind == "bad":
                yield payload[0], None
                continue
            self.delivered += 1
            yield payload[0], payload[1]

    def _receive(self) -> tuple:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 or not self._conn.poll(None if remaining == math.inf else remaining):
            raise InputError(f"video took longer than {self.time_limit_s:g} s ({self.delivered} frames read): "
                             f"{self.path}")
        try:
            return self._conn.recv()
        except EOFError:
            raise InputError(f"the video decoder stopped on this file (corrupt or hostile): {self.path}") from None

    def close(self) -> None:
        """Stop the child (killed if it is still decoding) and release its pipes."""
        if self._child.poll() is None:
            self._child.kill()
        self._child.wait()
        if self._child.stdin is not None:
            self._child.stdin.close()
        self._conn.close()


def serve_decode() -> None:
    """The child's side of ``DecodeProcess`` (arguments: the path, ``color`` or ``gray``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the child
    conn = Connection(os.dup(1))
    os.dup2(2, 1)  # a library that prints must not write into the messages
    path, color = Path(sys.argv[1]), sys.argv[2] == "color"
    try:
        cap = _open(path)
        try:
            info = video_info(cap, path)
            conn.send(("info", info))
            check_resolution(info, path)  # the parent refuses it too: never decode a huge frame
            indices: Optional[List[int]] = pickle.load(sys.stdin.buffer)
            for index, raw in _until_bad_run(_seek_and_read(cap, itertools.count() if indices is None else indices)):
                conn.send(("bad", index) if raw is None else ("frame", index, raw if color else array_to_gray(raw)))
            conn.send(("done", None))
        finally:
            cap.release()
    except (BrokenPipeError, EOFError):  # the parent stopped listening, or asked for nothing
        pass
    except InputError as exc:
        conn.send(("error", str(exc)))
    except (cv2.error, ValueError, OSError) as exc:
        conn.send(("error", f"not a readable video ({' '.join(str(exc).split())}): {path}"))


def _open(path: Path) -> cv2.VideoCapture:
    """An opened capture of ``path`` (checked by the parent: ``check_file``) with at least one video
    stream, or a one-line InputError."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise InputError(f"not a readable video (no video stream): {path}")
    return cap


def video_info(cap: cv2.VideoCapture, path: Path) -> VideoInfo:
    """The stream's frame count and rate (0: not said, as is a negative, missing or absurd value)
    and size; refuses a stream without a picture size."""
    frames, fps = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS)
    info = VideoInfo(int(frames) if math.isfinite(frames) and frames > 0 else 0,
                     float(fps) if math.isfinite(fps) and 0 < fps <= MAX_FPS else 0.0,
                     int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    if info.width * info.height == 0:
        raise InputError(f"video has no frames: {path}")
    return info


def _seek_and_read(cap: cv2.VideoCapture, indices: Iterable[int]) -> Iterator[Read]:
    """(index, BGR frame or None where it does not decode) of each of the ascending ``indices``: a
    frame at most ``SEEK_GAP`` frames after the last one is reached by decoding forward, a farther
    one by seeking."""
    position = 0
    for index in indices:
        if index - position > SEEK_GAP:
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            position = index
        ok = True
        while ok and position <= index:
            ok = cap.grab()
            position += 1
        ok, raw = cap.retrieve() if ok else (False, None)
        yield index, raw if ok and raw is not None else None


def _until_bad_run(reads: Iterable[Read]) -> Iterator[Read]:
    """``reads`` until more than ``MAX_BAD_RUN`` fail in a row: a failed read followed by a good
    one is a bad frame; failed reads with no good one after them are past the end (dropped)."""
    failed: List[int] = []
    for index, raw in reads:
        if raw is None:
            failed.append(index)
            if len(failed) > MAX_BAD_RUN:
                return
            continue
        yield from ((i, None) for i in failed)
        failed.clear()
        yield index, raw
