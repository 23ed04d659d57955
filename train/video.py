"""Sample frames from video files (every Nth frame, at most K per video)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, List, Tuple

import numpy as np

from eyegrad.runtime.errors import InputError
from eyegrad.runtime.video import VideoFile, VideoInfo, VideoOptions, thinned


def frame_indices(n_frames: int, every: int, max_frames: int) -> List[int]:
    """Indices 0, every, 2*every, ... spread so at most ``max_frames`` are kept."""
    return thinned(range(0, max(n_frames, 0), max(1, every)), max_frames)


def sample_frames(path: Path, every: int = 10, max_frames: int = 20) -> Iterator[Tuple[int, np.ndarray]]:
    """(frame index, gray frame) pairs of ``frame_indices``, read by the runtime's ``VideoFile``;
    none when the file is not a usable video."""
    def choose(info: VideoInfo, _: VideoOptions) -> List[int]:  # an unknown length: read the first frames
        return frame_indices(info.frames if info.frames > 0 else every * max_frames, every, max_frames)

    try:
        with VideoFile(path, choose=choose) as video:
            yield from ((frame.index, frame.gray) for frame in video)
    except InputError:
        return
