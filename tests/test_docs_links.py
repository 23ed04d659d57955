"""docs/ is the user documentation: research notes live in research/, and every relative link of the
Markdown files resolves to a file of the repository."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: The Markdown files that link to one another (runs/ and the virtualenv are not the project's).
MARKDOWN = sorted([*REPO.glob("*.md"), *(REPO / "docs").rglob("*.md"), *(REPO / "research").rglob("*.md"),
                   *(REPO / "models").glob("*.md"), *(REPO / "examples").glob("*.md")])
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_docs_holds_no_scripts_or_tables() -> None:
    assert sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").rglob("*")
                  if p.suffix in (".py", ".json")) == []


def test_every_relative_link_resolves() -> None:
    broken = []
    for md in MARKDOWN:
        for target in LINK.findall(md.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a URL or an anchor of the same page
            if not (md.parent / target.split("#")[0]).exists():
                broken.append(f"{md.relative_to(REPO)}: {target}")
    assert broken == []
