"""Latency of the runtime: per-stage times of ``Detector.detect``, model invokes, throughput.

The stage times are the Detector's own ``timing_ms`` (the benchmark runs the product's
pipeline, not a copy of it), with the CPU time of the calling thread around the call.
"""
from __future__ import annotations

import os
import time
from typing import Dict, List, Sequence

import cv2
import numpy as np

from eyegrad.runtime.decode import ImageSource
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.timing import STAGES as DETECTOR_STAGES
from eyegrad.runtime.errors import InputError
from eyegrad.runtime.interpreter import TfliteModel
from eyegrad.runtime.progress import Progress
from eyegrad.runtime.timing import summary, time_call

#: The Detector's stages, its ``total`` (their sum) and the calling thread's CPU time for the pass.
STAGES = (*DETECTOR_STAGES, "total", "total_cpu")


def set_threads(n: int) -> None:
    """Let OpenCV use ``n`` threads (the interpreter's count is fixed when it is made)."""
    cv2.setNumThreads(n)


def stage_times(detector: Detector, source: ImageSource) -> Dict[str, float]:
    """Milliseconds of each stage of one ``detector.detect(source)``, and the CPU time the calling
    thread used for all of it (``total_cpu``: what the pass costs without other processes in the way;
    with several threads, the work of the others is not in it)."""
    c0 = time.thread_time()
    result = detector.detect(source)
    cpu = (time.thread_time() - c0) * 1e3
    if result.error:
        raise InputError(result.error)
    return {**{s: result.timing_ms[s] for s in STAGES[:-1]}, "total_cpu": cpu}


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


def frame_against_invoke(detector: Detector, frames: Sequence[np.ndarray], peer: TfliteModel, peer_input: np.ndarray,
                         runs: int, warmup: int) -> Dict[str, float]:
    """Median ms of ``detector.detect_gray`` on a gray frame (array in, decode excluded) and of one
    ``peer.invoke()``, timed alternately in one loop so that a change of the machine's speed during
    the run touches both alike, and their ratio."""
    peer.set_input(peer_input)
    frame_ms: List[float] = []
    invoke_ms: List[float] = []
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        detector.detect_gray(frames[i % len(frames)])
        t1 = time.perf_counter()
        peer.invoke()
        t2 = time.perf_counter()
        if i >= warmup:
            frame_ms.append((t1 - t0) * 1e3)
            invoke_ms.append((t2 - t1) * 1e3)
    frame, invoke = float(np.median(frame_ms)), float(np.median(invoke_ms))
    return {"frame_ms": round(frame, 3), "invoke_ms": round(invoke, 3), "ratio": round(frame / invoke, 3)}


def invoke_latency(model: TfliteModel, x: np.ndarray, runs: int, warmup: int) -> Dict[str, float]:
    """Latency (ms) of ``invoke()`` alone, on the example ``x``."""
    model.set_input(x)
    return time_call(model.invoke, runs, warmup)
