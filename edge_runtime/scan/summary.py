"""What a scan did: images scanned and skipped, throughput, and verdict counts of the whole results."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Optional

from ..datasets import is_video
from ..results import Verdict

#: Verdicts that come with a p_fake.
SCORED = (Verdict.REAL, Verdict.FAKE, Verdict.UNCERTAIN)


@dataclass
class Summary:
    """Counts over every record in the results (earlier runs included) and this run's throughput."""

    results: str
    backend: str
    workers: Optional[int]  # None: one per Ray cluster CPU
    scanned: int = 0
    videos: int = 0  # of the scanned files
    skipped: int = 0
    seconds: float = 0.0
    first_result: float = 0.0  # seconds to the first record: workers or Ray starting up
    verdicts: Counter = field(default_factory=Counter)

    def add(self, record: Dict) -> None:
        self.verdicts[record["verdict"]] += 1

    def count_scanned(self, record: Dict) -> None:
        """Count a file scanned in this run (``add`` counts it in the results)."""
        self.scanned += 1
        self.videos += is_video(record["path"])

    @property
    def total(self) -> int:
        return sum(self.verdicts.values())

    @property
    def errors(self) -> int:
        return self.verdicts[Verdict.ERROR]

    @property
    def coverage(self) -> float:
        """Share of the records that got a p_fake."""
        return sum(self.verdicts[v] for v in SCORED) / self.total if self.total else 0.0

    @property
    def images_per_second(self) -> float:
        """This run's files (images and videos) over its wall time, worker (or Ray) start included."""
        return self.scanned / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> Dict:
        return {"results": self.results, "backend": self.backend, "workers": self.workers,
                "scanned": self.scanned, "videos": self.videos, "skipped": self.skipped, "seconds": round(self.seconds, 3),
                "first_result_seconds": round(self.first_result, 3),
                "images_per_second": round(self.images_per_second, 2), "records": self.total,
                "verdicts": {v.value: self.verdicts[v] for v in Verdict}, "errors": self.errors,
                "coverage": round(self.coverage, 4)}

    def format(self) -> str:
        counts = ", ".join(f"{v} {self.verdicts[v]}" for v in Verdict)
        images = self.scanned - self.videos
        files = f"{images} image{'s' * (images != 1)}" + (
            f" and {self.videos} video{'s' * (self.videos != 1)}" if self.videos else "")
        return "\n".join([
            f"scanned {files} in {self.seconds:.1f} s: {self.images_per_second:.1f} {'files' if self.videos else 'img'}/s, "
            f"first result after {self.first_result:.1f} s ({self.backend}, "
            f"workers: {self.workers or 'one per cluster CPU'}); "
            f"{self.skipped} already in the results",
            f"{self.results}: {self.total} records: {counts}",
            f"errors {self.errors}  coverage {self.coverage:.3f}",
        ])
