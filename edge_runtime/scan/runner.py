"""Run a scan: list the paths, skip those already in the results, scan the rest, write in batches."""
from __future__ import annotations

import os
import time
from typing import Dict, Iterator, List, Optional, Sequence, Union

from ..model import EyeModel
from ..progress import Progress
from .cluster import import_ray, scan_ray
from .local import scan_local
from .records import available_cores
from .sources import list_all
from .store import ResultsFile, results_file
from .summary import Summary

#: Records per write (and per Ray batch) by default: at most this many are redone after a kill.
DEFAULT_BATCH_SIZE = 64
#: Records are written at least this often (seconds), even when a batch is not full.
FLUSH_SECONDS = 10.0


def backend(paths: List[str], model: Optional[str], workers: Optional[int], batch_size: int,
            ray_address: Optional[str]) -> Iterator[Dict]:
    """Records of ``paths`` from the local pool, or from Ray when ``ray_address`` is given."""
    if ray_address:
        return scan_ray(paths, model, workers, batch_size, ray_address)
    return scan_local(paths, model, workers)


def write_in_batches(records: Iterator[Dict], store: ResultsFile, batch_size: int,
                     summary: Summary, bar: Progress) -> None:
    """Append ``records`` to ``store`` every ``batch_size`` records or FLUSH_SECONDS.

    On an interrupt the records already received are written before it goes on.
    """
    batch: List[Dict] = []
    start = last = time.monotonic()
    try:
        for record in records:
            if not summary.scanned:
                summary.first_result = time.monotonic() - start
            batch.append(record)
            summary.add(record)
            summary.count_scanned(record)
            bar.update()
            if len(batch) >= batch_size or time.monotonic() - last >= FLUSH_SECONDS:
                store.append(batch)
                batch, last = [], time.monotonic()
    finally:
        store.append(batch)
        records.close()  # stops the worker pool or Ray


def scan(source: Union[str, Sequence[str]], out: str, workers: Optional[int] = None, ray_address: Optional[str] = None,
         model: Optional[str] = None, batch_size: int = DEFAULT_BATCH_SIZE) -> Summary:
    """Scan every image and video named by ``source`` (one or several) into the results at ``out``,
    resuming an earlier run.

    ``workers`` defaults to the available cores (a Ray cluster's CPUs with ``ray_address``
    other than ``local``). Returns the summary of the whole results.
    """
    paths = list_all([source] if isinstance(source, str) else source)
    if ray_address in (None, "local"):
        workers = workers or available_cores()
    EyeModel(model)  # a bad model fails here, once, not in every worker
    if ray_address:
        import_ray()  # a missing extra fails before the results file is touched
    summary = Summary(out, f"ray {ray_address}" if ray_address else "local pool", workers)
    with results_file(out) as store:
        done = set()
        for record in store.read():
            done.add(os.path.normpath(record["path"]))
            summary.add(record)
        todo = [p for p in paths if os.path.normpath(p) not in done]
        summary.skipped = len(paths) - len(todo)
        if todo:
            bar = Progress(len(todo), "scan")
            start = time.monotonic()
            try:
                write_in_batches(backend(todo, model, workers, batch_size, ray_address),
                                 store, batch_size, summary, bar)
            finally:
                summary.seconds = time.monotonic() - start
                bar.close()
    return summary
