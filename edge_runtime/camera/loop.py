"""The camera loop: read frames, run them through the Detector's video mode, track, smooth, report.

Detection is ``Detector.stream`` (faces searched on every ``detect_every``-th frame, their
boxes re-used in between); the loop does the I/O around it. Each processed frame gives one
record: the detect result (docs/api.md) of
that frame plus ``frame``, ``tracks`` (a track id per face), ``detected`` (faces were
searched on this frame), ``fps`` and ``smoothed`` (verdict and p_fake averaged over each
track's last ``window`` frames). Faces are tracked only within a continuous source (a camera,
a video), not from one picture of a folder to the next. A video file is read as fast as it
decodes, or at its own frame rate with ``realtime``. A live source that stops is reopened
with exponential backoff; after ``retries`` failures in a row, or when it cannot be opened
at all, the loop ends with ``Summary.lost`` set.
"""
from __future__ import annotations

import collections
import contextlib
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, TextIO

import cv2

from ..detector import Detector
from ..modes import RunningMode
from ..progress import Progress
from ..results import DetectResult, FaceResult, Verdict, image_verdict
from ..stream import TrackedFrame
from .annotate import annotate
from .sources import Frame, FrameSource, SourceError
from ..tracking import Track, Tracker

#: Frames over which fps is measured.
FPS_WINDOW = 30
#: The least value of each of ``LoopOptions``' numbers (None, where allowed, is no limit).
LOOP_MINIMUMS = {"detect_every": 1, "window": 1, "save_interval": 0, "max_frames": 1, "duration": 0,
                 "retries": 0, "backoff": 0, "max_backoff": 0}


def source_mode(source: FrameSource) -> RunningMode:
    """A camera or stream is a live scene; a video file is a video; a folder's pictures are images."""
    if source.live:
        return RunningMode.LIVE_STREAM
    return RunningMode.VIDEO if source.continuous else RunningMode.IMAGE


@dataclass
class LoopOptions:
    """How the loop runs; the defaults are those of ``eyegrad camera``."""

    detect_every: int = 3
    window: int = 5
    json: bool = False
    realtime: bool = False  # read a video file at its own frame rate
    save_dir: Optional[Path] = None
    save_interval: float = 1.0  # seconds between saved pictures (0: every fake/uncertain frame)
    max_frames: Optional[int] = None
    duration: Optional[float] = None
    retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        for name, low in LOOP_MINIMUMS.items():
            value = getattr(self, name)
            if value is not None and value < low:
                raise ValueError(f"{name} must be at least {low}: {value}")


@dataclass
class Summary:
    """What a run did, printed when it stops."""

    frames: int = 0
    with_faces: int = 0
    bad: int = 0
    detections: int = 0
    track_verdicts: Dict[int, Verdict] = field(default_factory=dict)  # track id -> last smoothed verdict
    retries: int = 0
    reconnects: int = 0
    saved: int = 0
    elapsed: float = 0.0
    stop_reason: str = ""
    lost: Optional[str] = None  # why the source was given up, when it was

    def text(self, save_dir: Optional[Path] = None) -> str:
        fps = self.frames / self.elapsed if self.elapsed > 0 else 0.0
        counts = collections.Counter(self.track_verdicts.values())
        verdicts = ", ".join(f"{v} {n}" for v, n in sorted(counts.items()))
        saved = f"; {self.saved} frame(s) saved to {save_dir}" if save_dir else ""
        return (f"camera: stopped ({self.stop_reason}): {self.frames} frames in {self.elapsed:.1f} s, "
                f"{fps:.1f} fps; {self.with_faces} with faces, {self.bad} bad, {self.detections} face searches; "
                f"{len(self.track_verdicts)} track(s) ({verdicts or 'none'}); "
                f"retries {self.retries}, reconnects {self.reconnects}{saved}")


class CameraLoop:
    """Runs one source through a Detector until the stream ends, a limit is hit or ``stop()``."""

    def __init__(self, source: FrameSource, detector: Detector, options: LoopOptions,
                 out: Optional[TextIO] = None, status: Optional[TextIO] = None) -> None:
        self.source, self.detector, self.options = source, detector, options
        # a camera or stream shows a scene; a folder or file may hold tight face crops
        self.stream = detector.stream(options.detect_every, source_mode(source))
        self.out, self.status = out or sys.stdout, status or sys.stderr
        self.band = detector.model.uncertain_band
        self.tracker = Tracker(options.window, max_missed=max(options.window, options.detect_every))
        self.summary = Summary()
        self.stop_reason: Optional[str] = None
        self.is_open = False
        self.opened_once = False
        self.failures = 0  # source failures in a row
        self.last_save = float("-inf")
        self.stamps: collections.deque = collections.deque(maxlen=FPS_WINDOW + 1)

    def stop(self, reason: str) -> None:
        """Ask the loop to stop after the current frame (safe from a signal handler)."""
        if self.stop_reason is None:
            self.stop_reason = reason

    # -- frames ------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self.stop_reason is None and time.monotonic() < end:
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))

    def _read(self) -> Optional[Frame]:
        """The next frame, reconnecting a failed live source with backoff; None when there is none."""
        while self.stop_reason is None:
            try:
                if not self.is_open:
                    self.source.open()
                    self.is_open = self.opened_once = True
                frame = self.source.read()
            except SourceError as exc:
                self.source.close()
                self.is_open = False
                if not self.opened_once:  # nothing to reconnect to: say so at once
                    self.summary.lost = str(exc)
                    self.stop("source unavailable")
                    return None
                self.failures += 1
                retries = self.options.retries
                if self.failures > retries:
                    self.summary.lost = f"{exc}; gave up after {retries} retries"
                    self.stop("source lost")
                    return None
                delay = min(self.options.backoff * 2 ** (self.failures - 1), self.options.max_backoff)
                print(f"camera: {exc}; retry {self.failures}/{retries} in {delay:g} s",
                      file=self.status, flush=True)
                self.summary.retries += 1
                self._sleep(delay)
                continue
            if self.failures:
                self.summary.reconnects += 1
                self.failures = 0
            if frame is None:
                self.stop("end of stream")
            return frame
        return None

    def analyse(self, frame: Frame, index: int) -> TrackedFrame:
        """The frame's detect result, the track of each face, and whether faces were searched."""
        name = frame.name or self.source.label
        if not self.source.continuous:
            self.tracker.reset()
        if frame.error:
            return TrackedFrame(DetectResult.failed(name, frame.error, {"decode": frame.read_ms}), [], False)
        return self.stream.track_frame(self.tracker, frame.gray, index, frame.small, name, frame.read_ms)

    # -- output ------------------------------------------------------------
    def _save(self, frame: Frame, index: int, result: DetectResult, tracks: List[Track], verdict: str) -> None:
        """Save a fake/uncertain frame with boxes and smoothed scores drawn (at most every save_interval)."""
        now = time.monotonic()
        if now - self.last_save < self.options.save_interval:
            return
        self.last_save = now
        labels = [(f.face.box, t.verdict(self.band), f"#{t.id} {t.verdict(self.band)} {t.p_fake:.2f}")
                  for f, t in zip(result.faces, tracks)]
        path = self.options.save_dir / f"frame{index:06d}_{verdict}.jpg"
        if cv2.imwrite(str(path), annotate(frame.gray, labels)):
            self.summary.saved += 1
        else:
            print(f"camera: cannot write {path}", file=self.status, flush=True)

    def record(self, index: int, result: DetectResult, tracks: List[Track], detected: bool) -> dict:
        """The JSON record of one frame (docs/api.md: detect result + frame, tracks, detected, fps, smoothed)."""
        smoothed = tuple(FaceResult(f.face, t.p_fake) for f, t in zip(result.faces, tracks))
        verdict, p = (Verdict.ERROR, None) if result.verdict == Verdict.ERROR else image_verdict(smoothed, self.band)
        fps = (len(self.stamps) - 1) / (self.stamps[-1] - self.stamps[0]) if len(self.stamps) > 1 else 0.0
        rec = result.to_dict()
        rec.update(frame=index, tracks=[t.id for t in tracks], detected=detected, fps=round(fps, 2),
                   smoothed={"verdict": verdict.value, "p_fake": None if p is None else round(p, 6),
                             "faces": [round(t.p_fake, 6) for t in tracks]})
        return rec

    def _row(self, rec: dict) -> str:
        """One frame's line on stdout (a file or folder): frame number, picture and verdict."""
        name = f"  {rec['path']}" if not self.source.continuous else ""
        return f"{rec['frame']:6d}  {self._note(rec)}{name}"

    def _note(self, rec: dict) -> str:
        """The live status line's detail for one frame."""
        if rec["error"]:
            return f"error: {rec['error']}"
        faces = " ".join(f"#{t} {p:.2f}" for t, p in zip(rec["tracks"], rec["smoothed"]["faces"]))
        return f"{rec['smoothed']['verdict']}  {faces}"

    # -- the loop ----------------------------------------------------------
    def run(self) -> Summary:
        """Process frames until the end; always closes the source and returns the summary."""
        opts = self.options
        start = time.monotonic()
        self.stamps.append(start)
        rows = opts.json or not self.source.live  # a camera shows a status line instead
        bar = None if rows else Progress(opts.max_frames, "camera", stream=self.status, unit="frames")
        if opts.save_dir:
            opts.save_dir.mkdir(parents=True, exist_ok=True)
        try:
            index = 0
            while self.stop_reason is None:
                frame = self._read()
                if frame is None:
                    break
                if opts.realtime and self.source.fps:
                    self._sleep(start + index / self.source.fps - time.monotonic())
                result, tracks, detected = self.analyse(frame, index)
                self.stamps.append(time.monotonic())
                rec = self.record(index, result, tracks, detected)
                self._count(rec, tracks)
                if opts.save_dir and rec["smoothed"]["verdict"] in (Verdict.FAKE, Verdict.UNCERTAIN):
                    self._save(frame, index, result, tracks, rec["smoothed"]["verdict"])
                if bar is None:
                    self._write(json.dumps(rec) if opts.json else self._row(rec))
                else:
                    bar.update(note=self._note(rec))
                index += 1
                if opts.max_frames is not None and index >= opts.max_frames:
                    self.stop("max frames")
                elif opts.duration is not None and time.monotonic() - start >= opts.duration:
                    self.stop("duration")
        finally:
            self.source.close()
            if bar is not None:
                bar.close()
        self.summary.elapsed = time.monotonic() - start
        self.summary.stop_reason = self.stop_reason or "stopped"
        return self.summary

    def _count(self, rec: dict, tracks: List[Track]) -> None:
        s = self.summary
        s.frames += 1
        s.detections = self.stream.searches
        s.bad += rec["verdict"] == Verdict.ERROR
        s.with_faces += bool(rec["faces"])
        s.track_verdicts.update((t.id, t.verdict(self.band)) for t in tracks)

    def _write(self, line: str) -> None:
        try:
            print(line, file=self.out, flush=True)
        except BrokenPipeError:  # e.g. piped into `head`
            self.stop("output closed")


@contextlib.contextmanager
def stop_on_signals(loop: CameraLoop) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop the loop cleanly; a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame) -> None:
        if loop.stop_reason is not None:
            raise KeyboardInterrupt
        loop.stop(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
