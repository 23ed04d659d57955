"""What a scan did: images scanned and skipped, throughput, and verdict counts of the whole results."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict

from ..results import VERDICTS

#: Verdicts that come with a p_fake.
SCORED = ("real", "fake", "uncertain")


@dataclass
class Summary:
    """Counts over every record in the results (earlier runs included) and this run's throughput."""

    results: str
    backend: str
    workers: int
    scanned: int = 0
    skipped: int = 0
    seconds: float = 0.0
    startup: float = 0.0
    verdicts: Counter = field(default_factory=Counter)

    def add(self, record: Dict) -> None:
        self.verdicts[record["verdict"]] += 1

    @property
    def total(self) -> int:
        return sum(self.verdicts.values())

    @property
    def errors(self) -> int:
        return self.verdicts["error"]

    @property
    def coverage(self) -> float:
        """Share of the records that got a p_fake."""
        return sum(self.verdicts[v] for v in SCORED) / self.total if self.total else 0.0

    @property
    def images_per_second(self) -> float:
        """This run's images over its wall time, worker (or Ray) start included."""
        return self.scanned / self.seconds if self.seconds > 0 else 0.0

    @property
    def steady_images_per_second(self) -> float:
        """This run's rate once the first record arrived: what a long scan gets."""
        busy = self.seconds - self.startup
        return (self.scanned - 1) / busy if self.scanned > 1 and busy > 0 else 0.0

    def to_dict(self) -> Dict:
        return {"results": self.results, "backend": self.backend, "workers": self.workers,
                "scanned": self.scanned, "skipped": self.skipped, "seconds": round(self.seconds, 3),
                "startup_seconds": round(self.startup, 3), "images_per_second": round(self.images_per_second, 2),
                "steady_images_per_second": round(self.steady_images_per_second, 2), "records": self.total,
                "verdicts": {v: self.verdicts[v] for v in VERDICTS}, "errors": self.errors,
                "coverage": round(self.coverage, 4)}

    def format(self) -> str:
        counts = ", ".join(f"{v} {self.verdicts[v]}" for v in VERDICTS)
        return "\n".join([
            f"scanned {self.scanned} images in {self.seconds:.1f} s: {self.images_per_second:.1f} img/s, "
            f"{self.steady_images_per_second:.1f} img/s after {self.startup:.1f} s startup "
            f"({self.backend}, workers: {self.workers}); {self.skipped} already in the results",
            f"{self.results}: {self.total} records: {counts}",
            f"errors {self.errors}  coverage {self.coverage:.3f}",
        ])
