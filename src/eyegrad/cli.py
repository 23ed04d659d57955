"""The ``eyegrad`` command line: a table of subcommands, each imported only when it is chosen.

Every command module defines ``configure(parser)`` and ``run(args) -> int``. Commands of
an extra (``train``, ``optimize``, ``serve``) check that the extra's packages are
installed before they are imported, and say which extra to install when they are not.
A bad argument (a missing one, or an option value its ``type`` refuses: see
``runtime.commands.common``) is said in one line, with exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from typing import Dict, List, NamedTuple, NoReturn, Optional, Tuple

from . import __version__
from .runtime.errors import EyegradError
from .runtime.library_logs import set_verbose


class Command(NamedTuple):
    """One subcommand: the module that implements it, its help line and the extra it needs."""

    module: str
    help: str
    extra: Optional[str] = None


COMMANDS: Dict[str, Command] = {
    "detect": Command("eyegrad.runtime.commands.detect", "classify images, videos or folders of them"),
    "evaluate": Command("eyegrad.runtime.commands.evaluate", "metrics on a folder with real/ and fake/"),
    "info": Command("eyegrad.runtime.commands.info", "print a model's embedded metadata"),
    "scan": Command("eyegrad.runtime.commands.scan", "scan many images and videos into a results file"),
    "camera": Command("eyegrad.runtime.commands.camera", "check faces from a camera, video or image folder"),
    "serve": Command("eyegrad.runtime.commands.serve", "web page and JSON API", "web"),
    "train": Command("eyegrad.train.cli", "train student and teacher models on labelled folders", "train"),
    "optimize": Command("eyegrad.optimize.cli", "distill, prune, quantize and export the .tflite", "train"),
    "bench": Command("eyegrad.benchmarks.cli", "accuracy and latency of every model variant and Meso-4"),
}

#: The import names each extra installs; a command of that extra needs all of them.
EXTRA_MODULES: Dict[str, Tuple[str, ...]] = {
    "train": ("tensorflow", "tf_keras", "tensorflow_model_optimization", "matplotlib", "flatbuffers"),
    "web": ("flask", "waitress"),
}

VERBOSE_HELP = "show the native libraries' own lines on stderr (TFLite, OpenCV, FFmpeg)"


def missing_extra(command: Command) -> Optional[str]:
    """A one-line "install the extra" message when a package of the command's extra is missing."""
    if command.extra is None:
        return None
    missing = [m for m in EXTRA_MODULES[command.extra] if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    return (f"this command needs the '{command.extra}' extra ({', '.join(missing)} not installed): "
            f"pip install 'eyegrad[{command.extra}]'")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser (and subcommand parsers) that says a bad argument in one line, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(chosen: Optional[str]) -> argparse.ArgumentParser:
    """The parser, with the arguments of the ``chosen`` subcommand only (its module is imported)."""
    parser = OneLineParser(prog="eyegrad", description="Tell real faces from deepfakes by their eyes.")
    parser.add_argument("--version", action="version", version=f"eyegrad {__version__}")
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        p.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
        if name == chosen:
            module = importlib.import_module(command.module)
            p.description = (module.__doc__ or command.help).strip().splitlines()[0]
            module.configure(p)
            p.set_defaults(handler=module.run)
    return parser


def chosen_command(argv: List[str]) -> Optional[str]:
    """The subcommand named in ``argv`` (the first word that is not an option), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = chosen_command(argv)
    command = COMMANDS.get(chosen or "")
    problem = missing_extra(command) if command else None
    if problem:
        print(f"eyegrad {chosen}: error: {problem}", file=sys.stderr)
        return 2
    args = build_parser(chosen if command else None).parse_args(argv)
    if args.verbose:
        set_verbose()
    try:
        return int(args.handler(args) or 0)
    except EyegradError as exc:
        print(f"eyegrad: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. an output file in a folder that cannot be made or written
        where = f": {exc.filename}" if exc.filename else ""
        print(f"eyegrad: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("eyegrad: interrupted", file=sys.stderr)
        return 130
