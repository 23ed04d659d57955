"""Media files that attack a reader, made by code for the tests and the load test."""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Tuple

import numpy as np


def one_key_frame_video(path: Path, n_frames: int, claimed_s: float = 0.0, size: Tuple[int, int] = (640, 360),
                        fps: int = 30) -> Path:
    """A Matroska (H.264) video of ``n_frames`` frames with a single key frame: every seek decodes from
    the first frame, so reading it is slow by construction on any machine. With ``claimed_s`` its
    header lies about its length (the ``Duration`` element patched), as a hostile upload's may.

    Made by muxing one encoded still frame and one encoded repeat of it ``n_frames - 1`` times
    (PyAV), which takes milliseconds whatever ``n_frames`` is.
    """
    import av  # the dev extra: only tests and the load test make such files
    w, h = size
    still = np.full((h, w, 3), 90, np.uint8)
    still[h // 4:h // 2, w // 4:w // 2] = 200
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast", "tune": "zerolatency",
                          "x264-params": f"keyint={n_frames}:min-keyint={n_frames}:scenecut=0"}
        packets = []
        for pts in range(2):
            frame = av.VideoFrame.from_ndarray(still, format="rgb24")
            frame.pts = pts
            packets += stream.encode(frame)
        packets += stream.encode()
        key, repeat = bytes(packets[0]), bytes(packets[1])
        for pts in range(n_frames):
            packet = av.Packet(key if pts == 0 else repeat)
            packet.pts = packet.dts = pts
            packet.time_base = stream.codec_context.time_base
            packet.stream = stream
            packet.is_keyframe = pts == 0
            out.mux(packet)
    if claimed_s:
        data = bytearray(path.read_bytes())
        at = data.index(b"\x44\x89\x88") + 3  # Segment Info's Duration: an 8-byte float, in milliseconds
        data[at:at + 8] = struct.pack(">d", claimed_s * 1000.0)
        path.write_bytes(bytes(data))
    return path
