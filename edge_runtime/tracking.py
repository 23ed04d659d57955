"""Face tracks across frames by box overlap, and each track's p_fake smoothed over its last frames."""
from __future__ import annotations

import collections
from typing import Deque, List, Optional, Sequence, Tuple

from .boxes import Box
from .results import Verdict, verdict_for


class Track:
    """One face followed across frames: its id, last box and its last ``window`` p_fake scores."""

    def __init__(self, track_id: int, box: Box, window: int) -> None:
        self.id = track_id
        self.box = box
        self.scores: Deque[float] = collections.deque(maxlen=window)
        self.missed = 0  # frames in a row without a matching face
        self.frames = 0  # frames in which the face was seen

    def add(self, box: Box, p_fake: float) -> None:
        self.box = box
        self.scores.append(p_fake)
        self.missed = 0
        self.frames += 1

    @property
    def p_fake(self) -> float:
        """The mean p_fake over the last ``window`` frames."""
        return sum(self.scores) / len(self.scores)

    def verdict(self, uncertain_band: Tuple[float, float]) -> Verdict:
        """The smoothed verdict: the verdict rule of docs/api.md applied to the mean p_fake."""
        return verdict_for(self.p_fake, uncertain_band)


class Tracker:
    """Matches each frame's faces to tracks by box IoU (greedy, best overlap first).

    A face that overlaps no track by ``min_iou`` starts a new track; a track not seen
    for more than ``max_missed`` frames in a row is dropped.
    """

    def __init__(self, window: int = 5, min_iou: float = 0.3, max_missed: int = 5) -> None:
        self.window = window
        self.min_iou = min_iou
        self.max_missed = max_missed
        self.tracks: List[Track] = []
        self.next_id = 1

    def update(self, boxes: Sequence[Box], scores: Sequence[float]) -> List[Track]:
        """Add one frame's faces; returns their tracks, in the order of ``boxes``."""
        pairs = sorted(((b.iou(t.box), i, t) for i, b in enumerate(boxes) for t in self.tracks),
                       key=lambda p: -p[0])
        assigned: List[Optional[Track]] = [None] * len(boxes)
        taken = set()
        for iou, i, track in pairs:
            if iou < self.min_iou:
                break
            if assigned[i] is None and track.id not in taken:
                assigned[i] = track
                taken.add(track.id)
        for track in self.tracks:
            if track.id not in taken:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        for i, (box, p) in enumerate(zip(boxes, scores)):
            if assigned[i] is None:
                assigned[i] = Track(self.next_id, box, self.window)
                self.next_id += 1
                self.tracks.append(assigned[i])
            assigned[i].add(box, p)
        return assigned  # type: ignore[return-value]

    def reset(self) -> None:
        """Drop every track: the next faces start new ones (a new scene, e.g. the next picture of a folder)."""
        self.tracks = []

    @property
    def started(self) -> int:
        """How many tracks have been started so far."""
        return self.next_id - 1
