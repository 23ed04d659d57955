"""Sample frames from video files (every Nth frame, at most K per video)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, List, Tuple

import cv2
import numpy as np


def frame_indices(n_frames: int, every: int, max_frames: int) -> List[int]:
    """Indices 0, every, 2*every, ... spread so at most ``max_frames`` are kept."""
    idx = list(range(0, max(n_frames, 0), max(1, every)))
    if len(idx) > max_frames:
        pick = np.linspace(0, len(idx) - 1, max_frames).round().astype(int)
        idx = [idx[i] for i in pick]
    return idx


def sample_frames(path: Path, every: int = 10, max_frames: int = 20) -> Iterator[Tuple[int, np.ndarray]]:
    """(frame index, gray frame) pairs read sequentially from a video file."""
    cap = cv2.VideoCapture(str(path))
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        wanted = set(frame_indices(n if n > 0 else every * max_frames, every, max_frames))
        i = 0
        while wanted and i <= max(wanted):
            ok, frame = cap.read()
            if not ok:
                break
            if i in wanted:
                wanted.discard(i)
                yield i, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
            i += 1
    finally:
        cap.release()
