"""`eyegrad scan` and `detect` from the command line: several sources, videos counted as videos,
an empty folder, the help."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List

import pytest

from conftest import face_clip, write_video
from eyegrad.cli import main


@pytest.fixture(scope="module")
def video(tmp_path_factory, sample_images: List[Path]) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "face.avi", face_clip(sample_images[1], 6))


def test_scan_takes_several_sources_and_counts_videos_as_videos(sample_images: List[Path], video: Path,
                                                                 tmp_path: Path, capsys) -> None:
    out = tmp_path / "results.jsonl"
    argv = ["scan", str(sample_images[0]), str(sample_images[2]), str(video), "--out", str(out), "--workers", "1"]
    assert main(argv) == 0
    summary = capsys.readouterr().out
    assert "scanned 2 images and 1 video" in summary
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["path"] for r in records) == sorted(map(str, (sample_images[0], sample_images[2], video)))


def test_scan_of_an_empty_folder_says_there_is_nothing_in_it(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["scan", str(tmp_path / "empty"), "--out", str(tmp_path / "r.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no images or videos" in err


def test_detect_of_an_empty_folder_says_it_holds_no_image_or_video(tmp_path: Path, capsys) -> None:
    assert main(["detect", "--json", str(tmp_path)]) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["verdict"] == "error" and record["error"] == f"no images or videos in directory {tmp_path}"


def test_help_says_detect_takes_videos(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    detect_line = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("detect"))
    assert "videos" in detect_line
