"""One verdict for a video file: sampled frames through a Detector's stream, faces tracked, scores combined.

Every sampled frame (``video.VideoFile``) is searched for faces and scored like an image;
faces are followed from frame to frame by box overlap (``tracking.Tracker``). Each track's
p_fake combines its frames by ``VideoOptions.aggregation``; the video's p_fake is that of
its most-fake steady track (seen in at least ``STEADY_SHARE`` of the frames with a face and in
two of them, so a face found in one frame by mistake cannot decide alone; when no track is
steady, the longest decides), and its verdict follows the model's uncertain band. The result
is the image contract's (``DetectResult``) with a ``VideoSummary``: frames scored, the tracks
and a timeline of every sampled frame's scores.
"""
from __future__ import annotations

import os
import time
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Tuple, Union

from .aggregation import aggregate
from .errors import InputError
from .results import (DetectResult, FaceResult, TimelinePoint, TrackScore, TrackSummary, Verdict,
                      VideoSummary, verdict_for)
from .stream import FrameStream, TrackedFrame
from .timing import STAGES, stage_timing
from .tracking import Tracker
from .video import VideoFile, VideoOptions

#: A track counts for the video's verdict when it is seen in at least this share of the frames
#: with a face, and in at least ``MIN_STEADY_FRAMES`` of them (when there are that many).
STEADY_SHARE = 0.2
MIN_STEADY_FRAMES = 2
#: Sampled frames in a row a face may be missing before its track ends.
TRACK_MAX_MISSED = 3
#: Called after each sampled frame with (frames done, frames sampled), e.g. for a progress line.
ProgressCallback = Callable[[int, int], None]


class _Collector:
    """Builds the video result frame by frame: timeline, each track's scores and its most-fake face."""

    def __init__(self, options: VideoOptions) -> None:
        self.options = options
        self.tracker = Tracker(window=options.max_frames, max_missed=TRACK_MAX_MISSED)
        self.timeline: List[TimelinePoint] = []
        self.scores: Dict[int, List[float]] = defaultdict(list)
        self.most_fake: Dict[int, FaceResult] = {}
        self.stage_ms: Dict[str, float] = defaultdict(float)
        self.with_faces = 0

    def add(self, index: int, time_s: float, frame: TrackedFrame) -> None:
        """One sampled frame's step (``FrameStream.track_frame``): a bad frame goes on the timeline
        with its error, a scored one with its faces' tracks and scores."""
        result, tracks = frame.result, frame.tracks
        if result.error is not None:
            self.timeline.append(TimelinePoint(index, time_s, (), result.error))
            return
        for stage in STAGES[1:]:
            self.stage_ms[stage] += result.timing_ms.get(stage, 0.0)
        for face, track in zip(result.faces, tracks):
            self.scores[track.id].append(face.p_fake)
            if track.id not in self.most_fake or face.p_fake > self.most_fake[track.id].p_fake:
                self.most_fake[track.id] = face
        self.with_faces += bool(result.faces)
        self.timeline.append(TimelinePoint(index, time_s, tuple(
            TrackScore(t.id, f.p_fake, f.face.box) for f, t in zip(result.faces, tracks))))

    def result(self, path: str, duration_s: float, band: Tuple[float, float]) -> DetectResult:
        """The video's result: the most-fake steady track decides; with no steady track (faces
        that never stay), the longest track does."""
        least = max(min(MIN_STEADY_FRAMES, self.with_faces), STEADY_SHARE * self.with_faces)
        summaries = [TrackSummary(tid, len(s), aggregate(s, self.options.aggregation), len(s) >= least)
                     for tid, s in sorted(self.scores.items())]
        if summaries and not any(t.steady for t in summaries):
            longest = max(summaries, key=lambda t: t.frames)
            summaries = [t._replace(steady=t.id == longest.id) for t in summaries]
        video = VideoSummary(duration_s, self.options.aggregation, tuple(summaries), tuple(self.timeline))
        faces = tuple(FaceResult(self.most_fake[t.id].face, t.p_fake) for t in video.deciding_tracks)
        if faces:
            verdict, p = verdict_for(faces[0].p_fake, band), faces[0].p_fake
        else:
            verdict, p = Verdict.NO_FACE, None
        return DetectResult(path, verdict, p, faces, stage_timing(self.stage_ms), video=video)


def detect_video(stream: FrameStream, path: Union[str, os.PathLike], band: Tuple[float, float],
                 options: VideoOptions = VideoOptions(), progress: Optional[ProgressCallback] = None,
                 name: Optional[str] = None) -> DetectResult:
    """The result of one video file, its frames run through ``stream`` (``Detector.detect_video``
    makes it) and its verdict read with ``band`` (the model's video band); ``name``: the path to
    report, e.g. an upload's file name.

    Never raises for bad input: an unusable file, or one that takes longer than
    ``options.time_limit_s``, gives an ``error`` result with a one-line message.
    """
    name = os.fspath(path) if name is None else name
    collector = _Collector(options)
    t0 = time.perf_counter()
    try:
        with VideoFile(path, options) as video:
            read_since = time.perf_counter()
            for done, frame in enumerate(video, 1):
                collector.stage_ms["decode"] += (time.perf_counter() - read_since) * 1e3
                collector.add(frame.index, frame.time_s,
                              stream.track_frame(collector.tracker, frame.gray, frame.index))
                if progress is not None:
                    progress(done, len(video.indices))
                read_since = time.perf_counter()
            duration = video.duration_s
    except InputError as exc:
        return DetectResult.failed(name, str(exc), {"decode": (time.perf_counter() - t0) * 1e3})
    return collector.result(name, duration, band)
