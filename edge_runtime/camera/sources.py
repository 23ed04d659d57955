"""Frame sources for ``eyegrad camera``: picamera2, an OpenCV capture, a video file or a folder of images.

Every source has ``open()``, ``read()`` and ``close()``. ``read()`` returns a ``Frame``
(a bad frame is a ``Frame`` with ``error`` set, so the loop can report it and go on) or
``None`` at the end of a finite stream. The failure rules:

- a live source (a camera or stream) may keep retrying: when it stops delivering, ``open()``
  and ``read()`` raise ``SourceError`` and the loop reconnects with backoff;
- a video file may not: it is read by the runtime's one video reader (``video.VideoFile``)
  under the rules of every video file, and a file that cannot be read raises ``InputError``;
- problems that a retry cannot fix (a missing file, picamera2 not installed) raise ``EyegradError``.
"""
from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path
from typing import Any, Callable, Iterator, List, NamedTuple, Optional, Tuple, Union

import cv2
import numpy as np

from ..datasets import IMAGE_SUFFIXES, iter_files
from ..decode import array_to_gray, decode_image
from ..errors import EyegradError, InputError
from ..video import SampledFrame, VideoFile, VideoOptions

#: Default picamera2 main stream size (crops) and low-resolution stream width (face search).
PICAMERA_MAIN_SIZE = (1280, 960)
PICAMERA_LORES_WIDTH = 320
#: A video file played by the camera loop is read for as long as it plays.
PLAYBACK = VideoOptions(time_limit_s=math.inf)


def lores_size(size: Tuple[int, int]) -> Tuple[int, int]:
    """The low-res (face search) stream size of a camera stream of ``size``: ``PICAMERA_LORES_WIDTH``
    wide, same aspect, even sides."""
    w, h = size
    lw = min(w, PICAMERA_LORES_WIDTH)
    return lw - lw % 2, max(2, round(h * lw / w / 2) * 2)


class SourceError(EyegradError):
    """A live source stopped delivering frames (disconnected, timed out): worth a retry."""


class Frame(NamedTuple):
    """One frame: full-resolution grayscale, an optional low-res copy for face search, or an error."""

    gray: Optional[np.ndarray]
    small: Optional[np.ndarray] = None  # picamera2 lores Y plane: faces are searched here
    name: Optional[str] = None  # the image path for folder sources
    error: Optional[str] = None
    read_ms: float = 0.0

    @classmethod
    def bad(cls, error: str, name: Optional[str] = None, read_ms: float = 0.0) -> "Frame":
        return cls(None, None, name, error, read_ms)


class FrameSource:
    """Base of all sources. ``live`` sources (cameras, streams) are reconnected when reads fail,
    and their frames are scenes: a frame without a face box is never taken as one face crop.
    ``continuous`` sources show one scene going on (faces are tracked from frame to frame);
    ``fps`` is a video file's own frame rate, when it has one."""

    live = False
    continuous = True
    fps: Optional[float] = None

    def __init__(self, label: str) -> None:
        self.label = label

    def open(self) -> None:
        """Start delivering frames (raises SourceError or EyegradError)."""

    def read(self) -> Optional[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file; safe to call more than once."""


def _decoded(decode: Callable[[Any], np.ndarray], raw: Any, t0: float, name: Optional[str] = None) -> Frame:
    """A Frame of ``decode(raw)`` read since ``t0``, or a bad Frame when ``raw`` is unusable."""
    try:
        gray = decode(raw)
    except InputError as exc:
        return Frame.bad(str(exc), name, (time.perf_counter() - t0) * 1e3)
    return Frame(gray, None, name, None, (time.perf_counter() - t0) * 1e3)


class FolderSource(FrameSource):
    """The images of a folder (recursive, sorted) played as a sequence of separate pictures."""

    continuous = False

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.folder = Path(folder)
        self.files: List[Path] = []
        self.index = 0

    def open(self) -> None:
        self.files = list(iter_files(self.folder, IMAGE_SUFFIXES))
        if not self.files:
            raise EyegradError(f"no images in folder {self.folder}")

    def read(self) -> Optional[Frame]:
        if self.index >= len(self.files):
            return None
        path = self.files[self.index]
        self.index += 1
        return _decoded(decode_image, path, time.perf_counter(), str(path))


class CaptureSource(FrameSource):
    """A live OpenCV VideoCapture: a webcam index or an RTSP/HTTP URL. A failed read raises
    ``SourceError`` (the loop reconnects); a video file opened this way plays as a stream that
    drops at its end."""

    live = True

    def __init__(self, target) -> None:
        super().__init__(str(target))
        self.target = target
        self.cap: Optional[cv2.VideoCapture] = None

    def open(self) -> None:
        self.close()
        cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            if isinstance(self.target, int):
                raise SourceError(f"no webcam {self.target}: none is connected, or another program uses it")
            raise SourceError(f"cannot open camera or stream {self.label}")
        self.cap = cap

    def read(self) -> Optional[Frame]:
        if self.cap is None:
            raise SourceError(f"{self.label} is not open")
        t0 = time.perf_counter()
        ok, raw = self.cap.read()
        if not ok or raw is None:
            raise SourceError(f"no frame from {self.label} (disconnected?)")
        return _decoded(array_to_gray, raw, t0)

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


class VideoFileSource(FrameSource):
    """A video file played frame by frame by the runtime's video reader (``video.VideoFile``, every
    frame in order, no time limit): a frame that does not decode is a bad frame; the file ends at
    its last frame; a file that cannot be read raises ``InputError`` and is never reopened."""

    def __init__(self, path: Union[str, Path]) -> None:
        super().__init__(str(path))
        self.path = Path(path)
        self.video: Optional[VideoFile] = None
        self.frames: Iterator[SampledFrame] = iter(())

    def open(self) -> None:
        self.close()
        self.video = VideoFile(self.path, PLAYBACK, choose=None)
        self.fps = self.video.info.fps or None
        self.frames = self.video.frames(bad=True)

    def read(self) -> Optional[Frame]:
        t0 = time.perf_counter()
        frame = next(self.frames, None)
        read_ms = (time.perf_counter() - t0) * 1e3
        if frame is None:
            return None
        if frame.gray is None:
            return Frame.bad("video frame does not decode", None, read_ms)
        return Frame(frame.gray, None, None, None, read_ms)

    def close(self) -> None:
        if self.video is not None:
            self.video.close()
            self.video = None
        self.frames = iter(())


def y_plane(buffer: np.ndarray, size: Tuple[int, int], stride: int) -> np.ndarray:
    """The Y (luma) plane of a YUV420 buffer with rows ``stride`` bytes apart: the gray image."""
    w, h = size
    flat = np.asarray(buffer, dtype=np.uint8).reshape(-1)
    if stride < w or flat.size < stride * h:
        raise InputError(f"YUV420 buffer of {flat.size} bytes is too small for {w}x{h} (stride {stride})")
    return flat[: stride * h].reshape(h, stride)[:, :w]


def _size_and_stride(stream: dict) -> Tuple[Tuple[int, int], int]:
    """((width, height), stride) of a configured picamera2 stream."""
    return (int(stream["size"][0]), int(stream["size"][1])), int(stream["stride"])


class PiCameraSource(FrameSource):
    """A Raspberry Pi camera through picamera2 (imported only when used).

    Both streams are YUV420: faces are searched in the low-res stream's Y plane and
    the eye crops are taken from the main stream's Y plane, from the same request.
    """

    live = True

    def __init__(self, camera_num: int = 0, size: Tuple[int, int] = PICAMERA_MAIN_SIZE) -> None:
        super().__init__(f"picamera2:{camera_num}")
        self.camera_num = camera_num
        self.size = size
        self.cam = None
        self.main: Tuple[Tuple[int, int], int] = (size, size[0])  # (size, stride) once configured
        self.lores: Tuple[Tuple[int, int], int] = (size, size[0])

    def open(self) -> None:
        self.close()
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise EyegradError("picamera2 is not installed: on Raspberry Pi OS run `sudo apt install "
                               "python3-picamera2` and create the venv with --system-site-packages "
                               "(see docs/raspberry-pi.md)") from None
        except Exception as exc:  # e.g. apt's simplejpeg built for NumPy 1 under NumPy 2
            raise EyegradError(f"picamera2 fails to import: {type(exc).__name__}: {exc} "
                               "(see docs/raspberry-pi.md, NumPy 2 and simplejpeg)") from None
        try:
            found = len(Picamera2.global_camera_info())
            cam = Picamera2(self.camera_num) if found > self.camera_num else None
        except Exception as exc:  # camera busy or gone: libcamera raises various types
            raise SourceError(f"cannot open {self.label}: {exc}") from None
        if cam is None:
            raise SourceError(f"no camera {self.camera_num} found ({found} connected): "
                              "is the ribbon cable seated and the camera enabled?")
        try:
            config = cam.create_preview_configuration(
                main={"size": self.size, "format": "YUV420"},
                lores={"size": lores_size(self.size), "format": "YUV420"})
            cam.configure(config)
            self.main, self.lores = (_size_and_stride(cam.stream_configuration(n)) for n in ("main", "lores"))
            cam.start()
        except Exception as exc:
            cam.close()
            raise SourceError(f"cannot start {self.label}: {exc}") from None
        self.cam = cam

    def read(self) -> Optional[Frame]:
        if self.cam is None:
            raise SourceError(f"{self.label} is not open")
        t0 = time.perf_counter()
        try:
            request = self.cam.capture_request()
        except Exception as exc:
            raise SourceError(f"{self.label} stopped delivering frames: {exc}") from None
        try:
            gray = y_plane(request.make_buffer("main"), *self.main).copy()
            small = y_plane(request.make_buffer("lores"), *self.lores).copy()
        except InputError as exc:
            return Frame.bad(str(exc), None, (time.perf_counter() - t0) * 1e3)
        finally:
            request.release()
        return Frame(gray, small, None, None, (time.perf_counter() - t0) * 1e3)

    def close(self) -> None:
        cam, self.cam = self.cam, None
        if cam is not None:
            for step in (cam.stop, cam.close):
                try:
                    step()
                except Exception:  # closing a camera that already went away
                    pass


def default_source() -> str:
    """The camera a user expects: the Pi camera where picamera2 is installed, else the first webcam."""
    return "picamera2" if importlib.util.find_spec("picamera2") is not None else "0"


def open_source(spec: str, size: Tuple[int, int] = PICAMERA_MAIN_SIZE) -> FrameSource:
    """The source named by ``--source`` (not yet opened).

    ``picamera2`` or ``picamera2:N``; a webcam index (``0``); an ``rtsp://``/``http://`` URL;
    a folder of images; a video file.
    """
    if spec == "picamera2" or spec.startswith("picamera2:"):
        num = spec.partition(":")[2] or "0"
        if not num.isdigit():
            raise EyegradError(f"bad camera number in {spec!r}: use picamera2 or picamera2:N")
        return PiCameraSource(int(num), size)
    if spec.isdigit():
        return CaptureSource(int(spec))
    if "://" in spec:
        return CaptureSource(spec)
    path = Path(spec)
    if path.is_dir():
        return FolderSource(path)
    if path.is_file():
        return VideoFileSource(spec)
    raise EyegradError(f"no such file, folder or camera: {spec}")
