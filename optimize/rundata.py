"""A training run's validation crops as ``eyegrad optimize`` measures on them, and split checks.

A model may only be scored on crops it did not train on, so the run's split is remade
and compared with the one its run.json recorded, and a teacher from another run must
have trained on the same data and split.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from eyegrad.runtime.errors import EyegradError
from eyegrad.train.cache import CACHE_VERSION
from eyegrad.train.config import TrainingRun, read_record
from eyegrad.train.run import SPLIT_VERSIONS, RunData, prepare, split_summary


def run_data(run: TrainingRun, workers: int = 0) -> RunData:
    """The train/validation crops of a training run, as it split them.

    Raises when today's split differs from the run's (an older split version, or another face
    finder's crops): its validation crops could include crops its weights trained on."""
    data = prepare(run.config, workers)
    recorded = run.record.get("split")
    if recorded not in (None, split_summary(data)):
        made = recorded.get("version", "split on crops, before files-v1")
        raise EyegradError(f"the run's train/validation split ({made}) differs from today's "
                           f"({SPLIT_VERSIONS[run.config.split]}, "
                           f"crops {CACHE_VERSION}): its validation would hold images it trained on; retrain it")
    return data


def same_data_and_split(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    """Whether two training records (a run.json, or a model's metadata ``training``) name the
    same data roots and the same train/validation split."""
    return a.get("split") == b.get("split") and a.get("data") == b.get("data")


def same_split_run(run_dir: Path, record: Dict[str, Any]) -> Dict[str, Any]:
    """The run.json of ``run_dir``, which must have trained on the same data and split as ``record``
    (a teacher trained on the student's validation images would leak them into its scores)."""
    other = read_record(run_dir)
    if not same_data_and_split(other, record):
        raise EyegradError(f"{run_dir} trained on other data or another split than the student's run: "
                           "its teacher would have seen the student's validation images")
    return other
