"""Shared fixtures: the repo's example images and the optional ../shared data."""
from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip the test when it is not beside the repo."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs ../shared/data beside the repo ({SHARED_DATA} not found)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_images() -> List[Path]:
    """The four MesoNet sample faces bundled in examples/ (two real, two fake)."""
    return sorted(EXAMPLES.glob("*.jpg"))
