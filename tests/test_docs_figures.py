"""Figures the docs repeat agree with their one source: the shipped model (file and metadata),
the reference benchmark report and the package version."""
from __future__ import annotations

import json
import re
from pathlib import Path

import eyegrad
from eyegrad.benchmarks.readme_table import LANDMARK_MODEL, reference_table, kib
from eyegrad.runtime.model import DEFAULT_MODEL, EyeModel

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
DOCS = {p.relative_to(REPO).as_posix(): p.read_text() for p in [REPO / "README.md", REPO / "models" / "README.md",
                                                               *sorted((REPO / "docs").glob("*.md"))]}


def test_readme_performance_table_is_the_generated_one() -> None:
    assert reference_table() in README


def test_model_sizes_are_the_files_sizes() -> None:
    size, landmarks = DEFAULT_MODEL.stat().st_size, LANDMARK_MODEL.stat().st_size
    assert f"{size:,}-byte" in README and f"{size:,} bytes" in DOCS["models/README.md"]
    assert f"| size | {kib(size)} |" in DOCS["docs/benchmarks.md"]
    assert f"{kib(landmarks)})" in DOCS["docs/android.md"]
    stale = [(name, m.group(0)) for name, text in DOCS.items()
             for m in re.finditer(r"\b6[23](?:\.\d)? (?:KB|kB|KiB)\b", text) if m.group(0) != kib(size)]
    assert not stale


def test_the_shipped_models_zooms_are_the_metadatas() -> None:
    zooms = json.dumps(list(EyeModel().zooms))
    said = [(name, m.group(1)) for name, text in DOCS.items()
            for m in re.finditer(r"`(\[[0-9., ]+\])` (?:in|for) the shipped model", text)]
    assert said and all(z == zooms for _, z in said), said


def test_the_shipped_model_row_names_the_package_version() -> None:
    assert f"| shipped in {eyegrad.__version__} (" in DOCS["docs/benchmarks.md"]


def test_changelog_marks_only_the_next_version_unreleased() -> None:
    headings = re.findall(r"^## \[(\d+\.\d+\.\d+)\](.*)$", (REPO / "CHANGELOG.md").read_text(), re.M)
    unreleased = [v for v, rest in headings if "unreleased" in rest]
    released = [v for v, rest in headings if "unreleased" not in rest]
    assert released[0] == eyegrad.__version__
    assert unreleased == [v for v, _ in headings[: len(unreleased)]] and len(unreleased) <= 1


def test_readme_install_does_not_promise_a_published_package() -> None:
    install = README.split("## Install", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0].strip() for line in install.split("```sh", 1)[1].split("```")[0].splitlines()]
    assert "pip install eyegrad" not in commands and "pip install ." in commands
