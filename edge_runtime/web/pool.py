"""A fixed pool of Detectors for concurrent requests, with a deadline per job.

TFLite interpreters and OpenCV cascades must not be used by two threads at once:
each job takes one Detector from a queue and puts it back when done. Jobs run on an
executor with as many threads as detectors, so a request can give up waiting after
its timeout while the job, if it has not started yet, is cancelled.
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, TypeVar

from ..detector import Detector
from ..errors import EyegradError
from ..model import EyeModel

T = TypeVar("T")


class PoolTimeout(EyegradError):
    """A job did not finish within its timeout."""


class DetectorPool:
    """``size`` detectors made by ``factory``, each used by one job at a time."""

    def __init__(self, factory: Callable[[], Detector], size: int) -> None:
        if size < 1:
            raise ValueError(f"pool size must be at least 1, got {size}")
        self.size = size
        detectors = [factory() for _ in range(size)]
        #: the model (all detectors load the same): for its metadata only, never to run it
        self.model: EyeModel = detectors[0].model
        self._idle: "queue.Queue[Detector]" = queue.Queue()
        for d in detectors:
            self._idle.put(d)
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="eyegrad-detect")
        self._start_every_thread()

    def _start_every_thread(self) -> None:
        """Start all ``size`` worker threads now, where the executor would start one per job as
        jobs arrive: the server has its whole thread count before the first request (each job
        waits at a barrier until all are running, so none of them can take two)."""
        barrier = threading.Barrier(self.size)
        for started in [self._executor.submit(barrier.wait) for _ in range(self.size)]:
            started.result()

    @property
    def idle(self) -> int:
        """Detectors not running a job right now."""
        return self._idle.qsize()

    def _job(self, fn: Callable[[Detector], T]) -> T:
        detector = self._idle.get()
        try:
            return fn(detector)
        finally:
            self._idle.put(detector)

    def run(self, fn: Callable[[Detector], T], timeout: float) -> T:
        """``fn(detector)`` on a free detector; raises PoolTimeout after ``timeout`` seconds."""
        future = self._executor.submit(self._job, fn)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            future.cancel()
            raise PoolTimeout(f"the server did not finish within {timeout:g} s: try again later") from None

    def close(self) -> None:
        """Stop the worker threads (queued jobs are cancelled)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
