"""Timing: stage laps of one run, and percentiles of repeated timings after a warm-up."""
from __future__ import annotations

import time
from typing import Callable, Dict, Mapping, Sequence

import numpy as np

#: The timed stages of a detection, in order.
STAGES = ("decode", "faces", "eyes", "features", "infer")


def stage_timing(ms: Mapping[str, float]) -> Dict[str, float]:
    """A result's ``timing_ms`` from the stage times measured (a stage that did not run took 0 ms)."""
    t = {s: float(ms.get(s, 0.0)) for s in STAGES}
    return {"decode": t["decode"], "detect": t["faces"] + t["eyes"], **t, "total": sum(t.values())}


def summary(samples_ms: Sequence[float]) -> Dict[str, float]:
    """p50, p95, p99 and mean of timings in milliseconds, with the run count."""
    a = np.asarray(samples_ms, dtype=np.float64)
    if a.size == 0:
        return {"runs": 0}
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {"runs": int(a.size), "p50": round(float(p50), 4), "p95": round(float(p95), 4),
            "p99": round(float(p99), 4), "mean": round(float(a.mean()), 4)}


def time_call(fn: Callable[[], object], runs: int, warmup: int) -> Dict[str, float]:
    """Latency summary (ms) of ``fn()`` over ``runs`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return summary(samples)


class Stopwatch:
    """Milliseconds per stage of one run: each ``lap`` times the stage since the last lap (or the start)."""

    def __init__(self) -> None:
        self.ms: Dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> float:
        """End ``stage`` now; its milliseconds."""
        now = time.perf_counter()
        self.ms[stage] = (now - self._last) * 1e3
        self._last = now
        return self.ms[stage]
