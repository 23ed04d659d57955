"""Scan on Ray Data: paths in, ``map_batches`` over an actor pool (one Detector per actor), records out.

``ray`` is an optional extra (``pip install 'eyegrad[scale]'``) and is imported only here.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Dict, Iterator, List, Optional

from ..errors import EyegradError
from .records import available_cores, make_detector, scan_record

#: Object store of a local Ray runtime: batches of paths and JSON records are small.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024


def import_ray():
    """The ray module, or a clear error naming the extra to install."""
    try:
        import ray
        import ray.data  # noqa: F401  (ray[data])
    except ImportError:
        raise EyegradError("--ray needs Ray Data: pip install 'eyegrad[scale]' (or 'ray[data]')") from None
    return ray


class DetectBatch:
    """A Ray Data actor: one Detector (one interpreter, one thread) that scans batches of paths."""

    def __init__(self, model: Optional[str]) -> None:
        self.detector = make_detector(model, threads=1)

    def __call__(self, batch: Dict[str, List[str]]) -> Dict[str, List[str]]:
        """``path`` as listed and ``file`` to open -> one JSON record per path."""
        return {"record": [json.dumps({**scan_record(self.detector, str(f)), "path": str(p)})
                           for p, f in zip(batch["path"], batch["file"])]}


def connect(address: str, workers: int) -> bool:
    """Join the Ray cluster at ``address`` or, for ``local``, start a small local runtime.

    Returns whether this call started Ray (and so should shut it down).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    if address == "local":
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 object_store_memory=LOCAL_OBJECT_STORE_BYTES, logging_level=logging.WARNING)
    else:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    return True


def scan_ray(paths: List[str], model: Optional[str], workers: Optional[int], batch_size: int,
             address: str) -> Iterator[Dict]:
    """Records of ``paths`` from an actor pool of ``workers`` Detectors on the Ray runtime at ``address``.

    ``workers`` defaults to the cores here for ``local`` and to the cluster's CPUs otherwise.
    Workers open absolute paths (their working folder is not ours): on a cluster every node
    must see the images and the model at the same paths.
    """
    ray = import_ray()
    started = connect(address, workers or available_cores())
    try:
        workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        ray.data.DataContext.get_current().enable_progress_bars = False
        rows = [{"path": p, "file": os.path.abspath(p)} for p in paths]
        ds = ray.data.from_items(rows, override_num_blocks=max(1, -(-len(rows) // batch_size)))
        ds = ds.map_batches(DetectBatch, fn_constructor_kwargs={"model": model and os.path.abspath(model)},
                            batch_size=batch_size, batch_format="numpy", num_cpus=1,
                            compute=ray.data.ActorPoolStrategy(size=workers))
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            yield from (json.loads(r) for r in batch["record"])
    except ray.exceptions.RayError as exc:  # e.g. an actor that cannot load the model on its node
        reason = str(exc).strip().splitlines()[-1]
        raise EyegradError(f"the Ray scan failed: {reason}; the results so far are kept: "
                           "run again to resume") from None
    finally:
        if started:
            ray.shutdown()
