"""Scan on one machine: a pool of worker processes, each with its own Detector."""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from typing import Dict, Iterator, List, Optional

from ..detector import Detector
from .records import make_detector, scan_record, threads_per_worker

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

    Workers are spawned, not forked: they inherit no open files (such as the locked results file).
    """
    threads = threads_per_worker(workers)
    if workers <= 1:
        detector = make_detector(model, threads)
        yield from (scan_record(detector, p) for p in paths)
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, _init_worker, (model, threads)) as pool:
        yield from pool.imap_unordered(_scan_one, paths)
