"""Print a model's embedded eyegrad metadata as JSON."""
from __future__ import annotations

import argparse
import json

from ..model import EyeModel


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", nargs="?", default=None,
                   help="path to an eyegrad .tflite (default: the shipped model)")


def run(args: argparse.Namespace) -> int:
    model = EyeModel(args.model)
    print(json.dumps(model.metadata.to_dict(), indent=2, sort_keys=True))
    return 0
