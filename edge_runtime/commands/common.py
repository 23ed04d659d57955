"""Arguments and helpers shared by several subcommands."""
from __future__ import annotations

import argparse


def add_model_args(p: argparse.ArgumentParser) -> None:
    """--model and --threads."""
    p.add_argument("--model", "-m", help="path to an eyegrad .tflite (default: the shipped model)")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads (default: LiteRT's choice)")
