"""Arguments and helpers shared by several subcommands."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterator, List

from ..datasets import IMAGE_SUFFIXES, iter_files


def add_model_args(p: argparse.ArgumentParser) -> None:
    """--model and --threads."""
    p.add_argument("--model", "-m", help="path to an eyegrad .tflite (default: the shipped model)")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads (default: LiteRT's choice)")


def expand_inputs(paths: List[str], keep_empty_folders: bool = False) -> Iterator[str]:
    """Files as given, and the images inside folders (recursive, sorted).

    Paths that do not exist are passed through so that they get an error result; so are
    folders without any image when ``keep_empty_folders`` is set.
    """
    for raw in paths:
        p = Path(raw)
        files = [str(f) for f in iter_files(p, IMAGE_SUFFIXES)] if p.is_dir() else []
        if files:
            yield from files
        elif keep_empty_folders or not p.is_dir():
            yield raw
