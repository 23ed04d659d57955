"""The wheel as a user installs it, run from another folder: what it carries and what works from it."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parent.parent
#: What the wheel is built from (a copy: an in-tree build would leave build/ with modules since deleted).
SOURCES = ("src", "edge_runtime", "train", "optimize", "benchmarks", "models", "examples", "setup.cfg",
           "pyproject.toml", "README.md")


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory) -> Path:
    """The wheel built from this checkout, unpacked into a folder that is put first on ``sys.path``."""
    work = tmp_path_factory.mktemp("wheel")
    tree = work / "tree"
    tree.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, tree / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, tree / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(work / "dist"), str(tree)], check=True, timeout=300, cwd=work)
    site = work / "site"
    zipfile.ZipFile(next((work / "dist").glob("eyegrad-*.whl"))).extractall(site)
    return site


def run_from_wheel(site: Path, argv: List[str], cwd: Path) -> subprocess.CompletedProcess:
    """``eyegrad ARGV`` with the unpacked wheel's package (not the checkout's) in ``cwd``."""
    code = (f"import sys; sys.path.insert(0, {str(site)!r}); import eyegrad; "
            f"assert eyegrad.__file__.startswith({str(site)!r}), eyegrad.__file__; "
            f"from eyegrad.cli import main; sys.exit(main({argv!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_the_wheel_carries_the_examples(wheel_site: Path) -> None:
    shipped = sorted(p.name for p in (wheel_site / "eyegrad" / "examples").glob("*.jpg"))
    assert shipped == sorted(p.name for p in (REPO / "examples").glob("*.jpg"))


def test_quick_bench_from_the_wheel_prints_its_table(wheel_site: Path, tmp_path: Path) -> None:
    proc = run_from_wheel(wheel_site, ["bench", "--quick", "--no-meso4", "--out", "r"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "| model |" in proc.stdout and (tmp_path / "r.json").is_file()
    assert "Traceback" not in proc.stderr


def test_full_bench_from_the_wheel_says_what_it_needs_in_one_line(wheel_site: Path, tmp_path: Path) -> None:
    proc = run_from_wheel(wheel_site, ["bench"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "--data DIR" in proc.stderr and "--quick" in proc.stderr
    assert str(wheel_site) not in proc.stderr  # not a shared/data folder inside the install
