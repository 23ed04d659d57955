"""Append-only results files, chosen by extension: JSON lines, CSV or Parquet.

Every format is written in batches, each batch in one go, so a scan that is killed leaves
only whole records behind and can be resumed:

- ``.jsonl`` / ``.ndjson`` and ``.csv``: one file, one record per line. A batch is one
  ``write`` followed by ``fsync``; a line torn by a kill mid-write has no final newline,
  is ignored by readers and cut off when the scan is resumed.
- ``.parquet``: a directory of part files (``part-000001.parquet``, ...), one per batch,
  each written to a hidden temporary file and renamed into place. pandas, pyarrow, Spark,
  DuckDB and Ray read the directory as one table.

CSV and Parquet keep the detect result flat: scalar columns as they are, nested ones
(``faces``, ``timing_ms``) as JSON text. ``read()`` turns every format back into the same
dicts. The columns are the fields of ``RECORD``: the detect result (``schema.py``) and the
scan's ``file_size`` and ``sha256``.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

from ..errors import EyegradError
from ..schema import DETECT_RESULT, Field

#: The fields of a scan record: the detect result, then what the scan adds (``records.scan_record``).
RECORD = DETECT_RESULT + (
    Field("file_size", {"type": "integer"}, True, "the file's size in bytes (null when it cannot be read)"),
    Field("sha256", {"type": "string"}, True, "hex SHA-256 of the file's bytes (null when it could not be read)"),
)
#: Columns of a record, in file order.
COLUMNS = tuple(f.name for f in RECORD)
#: Columns that hold JSON text in CSV and Parquet.
JSON_COLUMNS = tuple(f.name for f in RECORD if f.nested)
#: Python types of the JSON Schema number types.
NUMBER_TYPES = {"number": float, "integer": int}
#: How CSV text is turned back into numbers (an empty cell is None).
CSV_NUMBERS = {f.name: NUMBER_TYPES[f.type] for f in RECORD if f.type in NUMBER_TYPES}


def to_row(record: Dict) -> Dict:
    """A flat row: nested columns as JSON text."""
    return {c: json.dumps(record[c]) if c in JSON_COLUMNS else record[c] for c in COLUMNS}


def from_row(row: Dict) -> Dict:
    """The record of a flat row."""
    return {c: json.loads(row[c]) if c in JSON_COLUMNS else row[c] for c in COLUMNS}


def lock(fd: int, path: Path) -> None:
    """Hold an exclusive lock on ``fd`` so two scans never append to the same results."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks, one scan per results file is up to the user
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise EyegradError(f"another scan is writing to {path}") from None


class ResultsFile:
    """An append-only results store at ``path``: ``read()`` any time; ``open()``, ``append()``, ``close()``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self) -> Iterator[Dict]:
        """The whole records stored so far (none when the store does not exist)."""
        raise NotImplementedError

    def open(self) -> None:
        """Create the store or take over an existing one, dropping any torn record."""
        raise NotImplementedError

    def append(self, records: Sequence[Dict]) -> None:
        """Write one batch of records durably."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> "ResultsFile":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LinesFile(ResultsFile):
    """One append-only file with one record per line."""

    header = b""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._fh: Optional[io.BufferedRandom] = None

    def encode(self, records: Sequence[Dict]) -> bytes:
        raise NotImplementedError

    def whole_lines(self) -> Iterator[str]:
        """Lines that end in a newline: a torn last line is left out."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            for line in fh:
                if line.endswith(b"\n"):
                    yield line.decode("utf-8")

    def open(self) -> None:
        if self.path.is_dir():
            raise EyegradError(f"results file is a directory: {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a+b")
        lock(self._fh.fileno(), self.path)
        end = self._fh.seek(0, os.SEEK_END)
        whole = self._end_of_last_line(end)
        if whole < end:
            self._fh.truncate(whole)
        if whole == 0 and self.header:
            self._write(self.header)

    def _end_of_last_line(self, end: int, chunk: int = 1 << 16) -> int:
        """Offset just past the file's last newline (0 when it has none)."""
        pos = end
        while pos > 0:
            start = max(0, pos - chunk)
            self._fh.seek(start)
            i = self._fh.read(pos - start).rfind(b"\n")
            if i >= 0:
                return start + i + 1
            pos = start
        return 0

    def _write(self, data: bytes) -> None:
        self._fh.write(data)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, records: Sequence[Dict]) -> None:
        if records:
            self._write(self.encode(records))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class JsonLinesFile(LinesFile):
    """JSON lines: one scan record (the detect result plus file_size, sha256) per line."""

    def encode(self, records: Sequence[Dict]) -> bytes:
        return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")

    def read(self) -> Iterator[Dict]:
        for n, line in enumerate(self.whole_lines(), 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    raise EyegradError(f"{self.path}:{n}: not a JSON record") from None


class CsvFile(LinesFile):
    """CSV with a header row; ``faces`` and ``timing_ms`` hold JSON text, an empty cell is null."""

    header = (",".join(COLUMNS) + "\n").encode("utf-8")

    def encode(self, records: Sequence[Dict]) -> bytes:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
        writer.writerows(to_row(r) for r in records)
        return buf.getvalue().encode("utf-8")

    def read(self) -> Iterator[Dict]:
        reader = csv.DictReader(self.whole_lines())
        if reader.fieldnames is not None and tuple(reader.fieldnames) != COLUMNS:
            raise EyegradError(f"{self.path} is not an eyegrad scan CSV (columns {reader.fieldnames})")
        for row in reader:
            typed = {c: (CSV_NUMBERS.get(c, str)(v) if v != "" else None) for c, v in row.items()}
            yield from_row(typed)


def import_pyarrow():
    """pyarrow and pyarrow.parquet, or a clear error naming the extra to install."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise EyegradError("Parquet results need pyarrow: pip install 'eyegrad[scale]' (or pyarrow), "
                           "or write .jsonl / .csv") from None
    return pyarrow, pyarrow.parquet


def arrow_schema(pa) -> "pyarrow.Schema":
    """The Parquet schema of a record: numbers as float64 or int64, every other column as text.
    Every column is nullable (pyarrow's default): a results directory is appended to across
    scans, so its part files must keep one schema."""
    types = {"number": pa.float64(), "integer": pa.int64()}
    return pa.schema([(f.name, types.get(f.type, pa.string())) for f in RECORD])


class ParquetParts(ResultsFile):
    """A directory of Parquet part files, one per batch, each renamed into place when complete."""

    PREFIX, SUFFIX = "part-", ".parquet"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.pa, self.pq = import_pyarrow()
        self.schema = arrow_schema(self.pa)
        self._fd: Optional[int] = None
        self._next = 1

    def parts(self) -> List[Path]:
        """Complete part files, in write order."""
        if not self.path.is_dir():
            return []
        return sorted(self.path.glob(f"{self.PREFIX}*{self.SUFFIX}"), key=self.index)

    def index(self, part: Path) -> int:
        """The batch number of a part file."""
        return int(part.name[len(self.PREFIX):-len(self.SUFFIX)])

    def read(self) -> Iterator[Dict]:
        for part in self.parts():
            for row in self.pq.read_table(part).to_pylist():
                yield from_row(row)

    def open(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise EyegradError(f"Parquet results are a directory of part files, but {self.path} is a file")
        self.path.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDONLY)
        lock(self._fd, self.path)
        for tmp in self.path.glob(f".{self.PREFIX}*.tmp"):
            tmp.unlink()  # a batch that a kill interrupted before its rename
        parts = self.parts()
        self._next = 1 + (self.index(parts[-1]) if parts else 0)

    def append(self, records: Sequence[Dict]) -> None:
        if not records:
            return
        name = f"{self.PREFIX}{self._next:06d}{self.SUFFIX}"
        tmp = self.path / f".{name}.tmp"
        table = self.pa.Table.from_pylist([to_row(r) for r in records], schema=self.schema)
        with open(tmp, "wb") as fh:
            self.pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / name)
        self._next += 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


#: Results format by file extension.
FORMATS = {".jsonl": JsonLinesFile, ".ndjson": JsonLinesFile, ".csv": CsvFile, ".parquet": ParquetParts}


def results_file(path: str) -> ResultsFile:
    """The results store for ``path``, by its extension."""
    p = Path(path)
    kind = FORMATS.get(p.suffix.lower())
    if kind is None:
        raise EyegradError(f"unknown results format {p.suffix or '(no extension)'!r} for {path}: "
                           f"use {', '.join(FORMATS)}")
    return kind(p)
