"""`make test` ends by saying how to run the browser tests when chromium is missing."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
@pytest.mark.parametrize("runner, status", [("true", 0), ("false", 2)])
def test_make_test_says_how_to_run_the_browser_tests(tmp_path: Path, runner: str, status: int) -> None:
    """The test run itself is replaced (PYTEST=true/false); the virtualenv is taken as made (-o)."""
    missing = tmp_path / "chromium"
    proc = subprocess.run(["make", "-s", "-C", str(REPO), "-o", ".venv/.dev", "test", f"PYTEST={runner}",
                           f"CHROMIUM={missing}"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == status
    hint = proc.stdout.strip().splitlines()[-1]
    assert str(missing) in hint and "apt-get install chromium" in hint and "tests/test_web_browser.py" in hint
