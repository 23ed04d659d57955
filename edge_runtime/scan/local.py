"""Scan on one machine: a pool of worker processes, each with its own Detector."""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Dict, Iterator, List, Optional

from ..detector import Detector
from ..errors import EyegradError
from .records import make_detector, scan_record, threads_per_worker

#: Paths handed to the pool ahead, per worker: keeps workers busy without queuing millions.
AHEAD_PER_WORKER = 4

_detector: Optional[Detector] = None


def _exit_with_parent(parent: int, every: float = 1.0) -> None:
    """End this worker once its parent is gone (e.g. the scan was killed with SIGKILL)."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def _init_worker(model: Optional[str], threads: int) -> None:
    """Worker start: the parent handles Ctrl-C; one Detector per worker process."""
    global _detector
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    _detector = make_detector(model, threads)


def _scan_one(path: str) -> Dict:
    return scan_record(_detector, path)


def scan_local(paths: List[str], model: Optional[str], workers: int) -> Iterator[Dict]:
    """Records of ``paths`` in completion order, from ``workers`` processes (in-process for 1).

    Workers are spawned, not forked: they inherit no open files (such as the locked results
    file). A worker that dies (killed, out of memory) stops the scan with an error naming the
    images in flight; what was written stays, and rerunning resumes.
    """
    threads = threads_per_worker(workers)
    if workers <= 1:
        detector = make_detector(model, threads)
        yield from (scan_record(detector, p) for p in paths)
        return
    todo = iter(paths)
    with ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), initializer=_init_worker,
                             initargs=(model, threads)) as pool:
        running: Dict[Future, str] = {pool.submit(_scan_one, p): p
                                      for p in islice(todo, workers * AHEAD_PER_WORKER)}
        try:
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                    del running[future]
                running.update((pool.submit(_scan_one, p), p) for p in islice(todo, len(done)))
        except BrokenProcessPool:
            suspects = ", ".join(sorted(running.values())[:8])
            raise EyegradError(f"a worker process died (killed, or out of memory) while scanning one of: "
                               f"{suspects}; the results so far are kept: run again to resume") from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
