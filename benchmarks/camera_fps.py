"""Frame rate of the camera loop (``eyegrad camera``) on recorded camera streams.

A stream is a sample face (``examples/``) on a camera-like background (``images.camera_frame``),
drifting a little from frame to frame, held in memory as a Raspberry Pi camera delivers it:
the full-size gray (Y) plane plus a 320-px-wide low-res copy that faces are searched in. So
the rate is the loop's own (face search every ``detect_every``-th frame, eyes, features,
inference, tracking, JSON records), without a video decoder or a camera driver in it.
``CPU %`` is the process's CPU time over wall time (100% = one core busy).
"""
from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from eyegrad.runtime.camera.loop import CameraLoop, LoopOptions
from eyegrad.runtime.camera.sources import Frame, FrameSource, lores_size
from eyegrad.runtime.detector import Detector

from .images import camera_frame, sample_files
from .latency import set_threads

#: Stream sizes of the table (width, height): a webcam's and the Pi camera default.
SIZES = ((640, 480), (1280, 960))
#: Pixels the face drifts sideways per frame.
DRIFT_PX = 2


class RecordedCamera(FrameSource):
    """Frames made up front and played like a live camera: gray plane and low-res copy, no decode."""

    live = True

    def __init__(self, frames: Sequence[np.ndarray], label: str = "recorded camera") -> None:
        super().__init__(label)
        self.frames = [(g, cv2.resize(g, lores_size((g.shape[1], g.shape[0])), interpolation=cv2.INTER_AREA))
                       for g in frames]
        self.index = 0

    def read(self) -> Optional[Frame]:
        if self.index >= len(self.frames):
            return None
        gray, small = self.frames[self.index]
        self.index += 1
        return Frame(gray, small)


def camera_stream(size: Tuple[int, int], frames: int, face: Optional[Path] = None) -> List[np.ndarray]:
    """``frames`` gray frames of ``size`` with one face (half the frame high) drifting sideways."""
    face_bgr = cv2.imread(str(face or sample_files()[-1][0]))
    base = cv2.cvtColor(camera_frame(face_bgr, size, face_height=size[1] // 2), cv2.COLOR_BGR2GRAY)
    swing = max(1, size[0] // 8)  # back and forth over an eighth of the width
    return [np.roll(base, DRIFT_PX * (i % swing if (i // swing) % 2 == 0 else swing - i % swing), axis=1)
            for i in range(frames)]


def loop_rate(frames: Sequence[np.ndarray], detector: Detector, detect_every: int) -> Dict:
    """Frames per second and CPU % of the camera loop over ``frames`` through ``detector``."""
    loop = CameraLoop(RecordedCamera(frames), detector, LoopOptions(detect_every=detect_every, json=True),
                      out=io.StringIO(), status=io.StringIO())
    wall, cpu = time.perf_counter(), time.process_time()
    summary = loop.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"frames": summary.frames, "face_frames": summary.with_faces, "face_searches": summary.detections,
            "fps": round(summary.frames / wall, 1), "ms_per_frame": round(1e3 * wall / summary.frames, 2),
            "cpu_percent": round(100 * cpu / wall)}


def camera_rates(frames: int = 150, threads: Sequence[int] = (1, 2), detect_every: Sequence[int] = (1, 3)) -> Dict:
    """The table: per stream size, face-search interval and thread count, the loop's rate (each
    after a short warm-up). ``detect_every`` 3 is ``eyegrad camera``'s default; 1 searches every frame."""
    out: Dict = {"frames": frames, "drift_px_per_frame": DRIFT_PX, "rows": []}
    detectors = {n: Detector(num_threads=n) for n in threads}
    for size in SIZES:
        stream = camera_stream(size, frames)
        for every in detect_every:
            for n, detector in detectors.items():
                set_threads(n)
                loop_rate(stream[:10], detector, every)  # warm-up: first invokes and cascade passes
                out["rows"].append({"size": f"{size[0]}x{size[1]}", "detect_every": every, "threads": n,
                                    **loop_rate(stream, detector, every)})
    set_threads(1)
    return out


def camera_table(report: Dict) -> List[str]:
    """The camera table as markdown lines."""
    lines = ["| stream | faces searched every | threads | fps | ms per frame | CPU % | frames with a face "
             "| face searches |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['size']} | {r['detect_every']} | {r['threads']} | {r['fps']} | {r['ms_per_frame']} | {r['cpu_percent']} "
              f"| {r['face_frames']} of {r['frames']} | {r['face_searches']} |" for r in report["rows"]]
    return lines
