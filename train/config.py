"""What a training run was asked (``RunConfig``), and its run.json.

Configs are frozen dataclasses built once from the command line and saved as JSON objects.
Loading follows two rules, so that no setting is silently dropped or invented:

* a key the config does not know is an error (a newer eyegrad wrote it), except the
  class's ``RETIRED`` keys, which older versions wrote and which mean nothing now;
* a missing key takes the field's default, or its ``LEGACY`` value where runs made before the
  field existed did otherwise than new runs do.

This module imports no TensorFlow: the command line reads its defaults from here.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type, TypeVar

from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.metrics import json_ready

from .data import source_name

C = TypeVar("C", bound="JsonConfig")
RUN_FILE = "run.json"


def _encode(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _decode(hint: Any, value: Any) -> Any:
    """``value`` (from JSON or argparse) as the field type ``hint``: paths, tuples, floats, optionals."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None or value == "None":  # "None": how some runs stored an unset path
            return None
        return _decode(next(a for a in args if a is not type(None)), value)
    if origin is tuple:
        return tuple(_decode(args[0], v) for v in value)
    if hint is Path:
        return Path(value)
    if hint is float:
        return float(value)
    return value


class JsonConfig:
    """Base of the frozen config dataclasses: to and from JSON objects and argparse Namespaces."""

    #: Keys that older versions saved and that are dropped on loading.
    RETIRED: ClassVar[Tuple[str, ...]] = ()
    #: Values that a missing key takes instead of the field's default: what runs made before
    #: the field existed did.
    LEGACY: ClassVar[Dict[str, Any]] = {}

    def to_dict(self) -> Dict[str, Any]:
        return {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: Type[C], data: Mapping[str, Any]) -> C:
        """The config saved as ``data`` (see the module's rules for unknown and missing keys)."""
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names - set(cls.RETIRED))
        if unknown:
            raise EyegradError(f"{cls.__name__} has no setting {', '.join(unknown)}: "
                               "it was written by a newer eyegrad")
        data = {**cls.LEGACY, **data}
        return cls(**{k: _decode(hints[k], v) for k, v in data.items() if k in names})

    @classmethod
    def from_args(cls: Type[C], args: argparse.Namespace) -> C:
        """The config of a parsed command line (its other attributes, e.g. the handler, are left)."""
        return cls.from_dict({f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})


def parse_source_weight(item: str) -> Tuple[str, float]:
    """One ``--source-weight`` value, "SOURCE=FACTOR" with a positive factor, as (source, factor)."""
    name, sep, factor = item.partition("=")
    try:
        value = float(factor)
    except ValueError:
        value = -1.0
    if not sep or not name or not value > 0:
        raise EyegradError(f"a source weight is SOURCE=FACTOR with a positive factor, e.g. unsplash=0.5, not {item!r}")
    return name, value


@dataclasses.dataclass(frozen=True)
class RunConfig(JsonConfig):
    """What ``eyegrad train`` was asked; run.json keeps it as ``args``."""

    RETIRED: ClassVar[Tuple[str, ...]] = ("command",)  # the subcommand's name, saved with the arguments
    LEGACY: ClassVar[Dict[str, Any]] = {"split": "blocks"}  # runs before the split setting split by blocks

    data: Tuple[Path, ...]
    out: Path = Path("runs/latest")
    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    sbi_rate: float = 0.5
    sbi_only: bool = False
    augment: str = "strong"
    average_last: int = 0
    paired_batches: bool = False
    val_fraction: float = 0.2
    seed: int = 0
    teacher: bool = False
    teacher_epochs: Optional[int] = None
    no_student: bool = False
    init: Optional[Path] = None
    teacher_init: Optional[Path] = None
    loso: bool = False
    loso_epochs: int = 12
    loso_only: bool = False
    loso_sources: Tuple[str, ...] = ()
    limit: Optional[int] = None
    cache: Optional[Path] = None
    workers: int = 0
    frames_every: int = 10
    frames_max: int = 20
    split: str = "groups"
    band: str = "eyes"
    eye_consistency: bool = False
    source_weights: Tuple[str, ...] = ()

    @property
    def source_weight_map(self) -> Dict[str, float]:
        """``source_weights`` ("SOURCE=FACTOR" each) as a source -> factor mapping."""
        return dict(parse_source_weight(item) for item in self.source_weights)

    @property
    def sources(self) -> Tuple[str, ...]:
        """The names of the ``data`` sources (``source_name``), sorted."""
        return tuple(sorted({source_name(root) for root in self.data}))

    @property
    def held_out_sources(self) -> Tuple[str, ...]:
        """The sources the leave-one-source-out table leaves out in turn: ``loso_sources``, or every one."""
        return tuple(sorted(set(self.loso_sources))) or self.sources


@dataclasses.dataclass(frozen=True)
class TrainingRun:
    """A training run's run.json: what it was asked (``config``) and the whole file as written
    (``record``: data, split, command, date, geometries, metrics)."""

    config: RunConfig
    record: Dict[str, Any]


def read_record(run_dir: Path) -> Dict[str, Any]:
    """The run.json of ``run_dir`` as written."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise EyegradError(f"{run_dir} is not a training run (no {RUN_FILE})")
    return json.loads(path.read_text())


def load_run(run_dir: Path) -> TrainingRun:
    """The run.json of ``run_dir`` with its config parsed (``RunConfig.from_dict``)."""
    record = read_record(run_dir)
    if "args" not in record:
        raise EyegradError(f"{Path(run_dir) / RUN_FILE} records no arguments (no 'args')")
    try:
        return TrainingRun(RunConfig.from_dict(record["args"]), record)
    except (EyegradError, TypeError) as exc:
        raise EyegradError(f"{Path(run_dir) / RUN_FILE}: {exc}") from exc


def save_run(out: Path, run: Dict[str, Any]) -> None:
    """Write ``run`` (built by ``run.run_metadata``, with results added) as ``out``/run.json."""
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_FILE).write_text(json.dumps(json_ready(run), indent=1, default=float))
