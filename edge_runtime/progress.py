"""A dependency-free progress line on stderr: count, rate and ETA."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

class Progress:
    """Prints ``label  done/total  rate/s  ETA`` at most every ``interval`` seconds."""

    def __init__(self, total: Optional[int], label: str = "", stream: TextIO = None,
                 interval: float = 0.5, unit: str = "img") -> None:
        self.total, self.label, self.unit = total, label, unit
        self.stream = stream or sys.stderr
        self.interval = interval if self.stream.isatty() else max(interval, 10.0)
        self.done = 0
        self.start = self._last = time.monotonic()

    def update(self, n: int = 1, note: str = "") -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.interval or (self.total is not None and self.done >= self.total):
            self._last = now
            self._print(note)

    def _print(self, note: str = "") -> None:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            text = f"{self.label} {self.done}/{self.total} {rate:.1f} {self.unit}/s ETA {eta:.0f}s {note}"
        else:
            text = f"{self.label} {self.done} {rate:.1f} {self.unit}/s {note}"
        end = "\r" if self.stream.isatty() else "\n"
        self.stream.write(text.rstrip() + end)
        self.stream.flush()

    def close(self) -> None:
        if self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()
