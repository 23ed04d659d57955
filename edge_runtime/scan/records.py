"""One scan record per image or video: the detect result plus the file's size and SHA-256."""
from __future__ import annotations

import hashlib
import os
import stat
from typing import Dict, Optional, Union

import cv2

from ..datasets import is_video
from ..decode import read_bytes
from ..detector import Detector
from ..errors import InputError
from ..results import DetectResult


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    """Threads each of ``workers`` processes may use without oversubscribing the cores."""
    return max(1, available_cores() // max(1, workers))


def make_detector(model: Optional[str], threads: int) -> Detector:
    """A Detector whose interpreter and OpenCV each use at most ``threads`` threads."""
    cv2.setNumThreads(threads)
    return Detector(model, num_threads=threads)


def file_size(path: str) -> Optional[int]:
    """The size of ``path`` in bytes, or None when it cannot be read."""
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def scan_record(detector: Detector, path: str) -> Dict:
    """The detect result of ``path`` plus ``file_size`` and ``sha256`` (None when unreadable): the
    ``RECORD`` fields of ``store.py``.

    Never raises: a bad file, or any failure inside the pipeline, gives an ``error`` record.
    """
    if is_video(path):  # read by the video decoder, hashed in chunks: a video may be larger than any image
        result = _guarded(detector, path)
        return {**result.to_dict(), "file_size": file_size(path), "sha256": file_sha256(path)}
    try:
        data = read_bytes(path)
    except InputError as exc:
        return {**DetectResult.failed(path, str(exc)).to_dict(), "file_size": file_size(path), "sha256": None}
    result = _guarded(detector, data, path)
    return {**result.to_dict(), "file_size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _guarded(detector: Detector, source: Union[str, bytes], path: Optional[str] = None) -> DetectResult:
    """``detector.detect``, with any failure inside the pipeline turned into an ``error`` result."""
    try:
        return detector.detect(source, path=path)
    except Exception as exc:  # one odd file (e.g. an OpenCV assertion) must not stop a scan of millions
        return DetectResult.failed(path or str(source), f"{type(exc).__name__}: {exc}")


def file_sha256(path: str, chunk: int = 1 << 20) -> Optional[str]:
    """The SHA-256 of a regular file read in chunks, or None when it cannot be read or is no
    regular file (a FIFO would block, a device never end)."""
    digest = hashlib.sha256()
    try:
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:  # a FIFO opens without a writer
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            for block in iter(lambda: f.read(chunk), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()
