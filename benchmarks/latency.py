"""Per-stage latency of the runtime and its throughput on a folder of images.

One pass of ``stage_times`` runs the same steps as ``Detector.detect`` (decode, face
boxes, eyes, eye features, model, verdict) and times each one.
"""
from __future__ import annotations

import os
import time
from typing import Dict, List, Sequence

import cv2

from eyegrad.runtime.decode import ImageSource, decode_image
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.progress import Progress
from eyegrad.runtime.results import FaceResult, image_verdict

from eyegrad.runtime.timing import summary

STAGES = ("decode", "faces", "eyes", "features", "infer", "total", "total_cpu")


def set_threads(n: int) -> None:
    """Let OpenCV use ``n`` threads (the interpreter's count is fixed when it is made)."""
    cv2.setNumThreads(n)


def stage_times(detector: Detector, source: ImageSource) -> Dict[str, float]:
    """Milliseconds spent in each stage of one detection of ``source``, and the CPU time the calling
    thread used for all of it (``total_cpu``: what the pass costs without other processes in the way;
    with several threads, the work of the others is not in it)."""
    finder, model = detector.finder, detector.model
    c0 = time.thread_time()
    t0 = time.perf_counter()
    gray = decode_image(source)
    t1 = time.perf_counter()
    boxes = finder.find_face_boxes(gray)
    t2 = time.perf_counter()
    faces = finder.faces_from_boxes(gray, boxes)
    t3 = time.perf_counter()
    feats = [model.face_views(gray, f) for f in faces]
    t4 = time.perf_counter()
    image_verdict([FaceResult(f, model.score_views(x)) for f, x in zip(faces, feats)], model.uncertain_band)
    t5 = time.perf_counter()
    cpu = (time.thread_time() - c0) * 1e3
    ms = [(b - a) * 1e3 for a, b in zip((t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5))]
    return dict(zip(STAGES, ms + [(t5 - t0) * 1e3, cpu]))


def stage_latency(detector: Detector, sources: Sequence[ImageSource], runs: int, warmup: int,
                  label: str = "") -> Dict[str, Dict[str, float]]:
    """p50/p95/p99 per stage over ``runs`` passes that cycle through ``sources`` after a warm-up."""
    for i in range(warmup):
        stage_times(detector, sources[i % len(sources)])
    samples: Dict[str, List[float]] = {s: [] for s in STAGES}
    bar = Progress(runs, label, unit="run")
    for i in range(runs):
        for stage, ms in stage_times(detector, sources[i % len(sources)]).items():
            samples[stage].append(ms)
        bar.update()
    bar.close()
    return {stage: summary(v) for stage, v in samples.items()}


def throughput(detector: Detector, paths: Sequence[str], label: str = "") -> Dict[str, float]:
    """Images per second for ``Detector.detect`` over files read from disk, one after another."""
    bar = Progress(len(paths), label)
    t0 = time.perf_counter()
    for p in paths:
        detector.detect(os.fspath(p))
        bar.update()
    seconds = time.perf_counter() - t0
    bar.close()
    return {"images": len(paths), "seconds": round(seconds, 3),
            "images_per_s": round(len(paths) / seconds, 2) if seconds > 0 else 0.0}
