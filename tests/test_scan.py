"""``eyegrad scan``: sources, every results format, bad input, kill and resume, and the Ray path."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

from eyegrad.cli import main
from eyegrad.runtime.boxes import EYE_ORIGINS
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.results import VERDICTS
from eyegrad.runtime.scan import list_paths, results_file, scan
from eyegrad.runtime.scan.store import COLUMNS

REPO = Path(__file__).resolve().parent.parent
FORMATS = ("jsonl", "csv", "parquet")
BAD = ("zero.jpg", "text.jpg", "truncated.jpg")


def needs(fmt: str) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow", reason="Parquet results need pyarrow (extra 'scale')")


def eyegrad(*args: str) -> List[str]:
    return [sys.executable, "-m", "eyegrad", *args]


@pytest.fixture
def inputs(tmp_path: Path, sample_images: List[Path]) -> Path:
    """The four sample faces and three bad files: empty, text named .jpg, truncated JPEG."""
    folder = tmp_path / "in"
    folder.mkdir()
    for p in sample_images:
        shutil.copy(p, folder / p.name)
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("this is not an image\n")
    (folder / "truncated.jpg").write_bytes(sample_images[0].read_bytes()[:2000])
    return folder


def read(path: Path) -> List[Dict]:
    return list(results_file(str(path)).read())


def read_after(summary) -> List[Dict]:
    """The records of a finished scan."""
    return read(Path(summary.results))


def by_path(records: List[Dict]) -> Dict[str, Dict]:
    paths = [r["path"] for r in records]
    assert len(paths) == len(set(paths)), "a path was written twice"
    return {r["path"]: r for r in records}


def without_timing(record: Dict) -> Dict:
    return {k: v for k, v in record.items() if k != "timing_ms"}


def check_record(r: Dict) -> None:
    """One well-formed record: the docs/api.md detect result plus file_size and sha256."""
    assert tuple(r) == COLUMNS
    assert r["verdict"] in VERDICTS
    data = Path(r["path"]).read_bytes()
    assert r["file_size"] == len(data)
    assert r["sha256"] == (hashlib.sha256(data).hexdigest() if data else None)
    assert isinstance(r["timing_ms"], dict) and all(isinstance(v, float) for v in r["timing_ms"].values())
    if r["verdict"] == "error":
        assert r["p_fake"] is None and r["faces"] == []
        assert isinstance(r["error"], str) and r["error"] and "\n" not in r["error"]
        return
    assert r["error"] is None
    assert (r["p_fake"] is None) == (r["verdict"] == "no_face")
    for f in r["faces"]:
        assert len(f["box"]) == 4 and len(f["eyes"]) == 2 and all(len(e) == 4 for e in f["eyes"])
        assert f["eyes_from"] in EYE_ORIGINS and 0.0 <= f["p_fake"] <= 1.0
    if r["faces"]:
        assert r["p_fake"] == max(f["p_fake"] for f in r["faces"])
        assert {"decode", "detect", "features", "infer", "total"} <= set(r["timing_ms"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_scan_writes_one_record_per_input(fmt: str, inputs: Path, tmp_path: Path, capsys) -> None:
    needs(fmt)
    out = tmp_path / f"results.{fmt}"
    assert main(["scan", str(inputs), "--out", str(out), "--workers", "1", "--batch-size", "3"]) == 0
    summary = capsys.readouterr().out
    assert "scanned 7 images" in summary and "errors 3" in summary
    records = by_path(read(out))
    assert set(records) == {str(p) for p in sorted(inputs.iterdir())}
    for r in records.values():
        check_record(r)
    for name in BAD:
        assert records[str(inputs / name)]["verdict"] == "error"
    detector = Detector()
    for name in ("real_mesonet_00240.jpg", "fake_mesonet_df00204.jpg"):
        path = str(inputs / name)
        assert without_timing(records[path]) == {**without_timing(detector.detect(path).to_dict()),
                                                 "file_size": records[path]["file_size"],
                                                 "sha256": records[path]["sha256"]}


def test_sources_folder_list_and_glob(inputs: Path, tmp_path: Path) -> None:
    listed = tmp_path / "paths.txt"
    listed.write_text(f"# photos to check\nin/zero.jpg\n\n{inputs / 'text.jpg'}\nin/zero.jpg\n")
    assert list_paths(str(listed)) == [str(tmp_path / "in" / "zero.jpg"), str(inputs / "text.jpg")]
    assert list_paths(str(inputs / "*.jpg")) == [str(p) for p in sorted(inputs.glob("*.jpg"))]
    assert list_paths(str(inputs)) == [str(p) for p in sorted(inputs.iterdir())]
    with pytest.raises(EyegradError, match="no such"):
        list_paths(str(tmp_path / "missing"))
    with pytest.raises(EyegradError, match="unknown results format"):
        scan(str(inputs), str(tmp_path / "results.xlsx"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_resume_skips_done_paths_and_drops_a_torn_record(fmt: str, inputs: Path, tmp_path: Path) -> None:
    """A first scan of some files, a record torn as by a kill mid-write, then the whole folder."""
    needs(fmt)
    out = tmp_path / f"results.{fmt}"
    first = scan(str(inputs / "*_mesonet_*.jpg"), str(out), workers=1, batch_size=2)
    assert (first.scanned, first.skipped) == (4, 0)
    if fmt == "parquet":
        (out / ".part-000003.parquet.tmp").write_bytes(b"PAR1 half a part file")
    else:
        with open(out, "ab") as fh:
            fh.write(b'{"path": "half a rec' if fmt == "jsonl" else b"half,a,row")
    assert len(read(out)) == 4  # readers never see the torn record
    second = scan(str(inputs), str(out), workers=1, batch_size=2)
    assert (second.scanned, second.skipped, second.total) == (3, 4, 7)
    records = by_path(read(out))
    assert set(records) == {str(p) for p in inputs.iterdir()}
    for r in records.values():
        check_record(r)
    assert not list(tmp_path.glob(f"{out.name}/.*.tmp"))


def test_a_second_scan_cannot_write_the_same_results(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with results_file(str(out)):
        with pytest.raises(EyegradError, match="another scan is writing"):
            scan(str(inputs), str(out), workers=1)


def pool_workers(parent: int) -> List[int]:
    """PIDs of the scan's worker processes (children of ``parent`` started by multiprocessing spawn)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
        if ppid == parent and b"spawn_main" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def start_and_wait_for(args: List[str], out: Path, records: int) -> subprocess.Popen:
    """Start a scan in its own process group; return once ``out`` holds ``records`` records."""
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and len(read(out)) < records and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker processes in /proc (Linux)")
def test_killed_scan_resumes_without_loss_or_duplicates(sample_images: List[Path], tmp_path: Path) -> None:
    """A worker killed, then the whole scan killed (SIGKILL to its process group) mid-way; each time
    the scan is resumed, and the end result equals an uninterrupted run's."""
    many = tmp_path / "many"
    many.mkdir()
    for i in range(16):
        for p in sample_images:
            (many / f"{i:02d}_{p.name}").symlink_to(p)
    n = len(list(many.iterdir()))
    reference = by_path(read_after(scan(str(many), str(tmp_path / "reference.jsonl"), workers=1, batch_size=8)))
    out = tmp_path / "results.jsonl"
    args = eyegrad("scan", str(many), "--out", str(out), "--workers", "2", "--batch-size", "4")

    proc = start_and_wait_for(args, out, 4)
    try:
        workers = pool_workers(proc.pid)
        assert workers, "no worker processes found"
        os.kill(workers[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 2 and "a worker process died" in stderr and "Traceback" not in stderr, stderr[-3000:]
    after_worker_kill = len(by_path(read(out)))
    assert 4 <= after_worker_kill < n

    proc = start_and_wait_for(args, out, after_worker_kill + 8)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    after_scan_kill = len(by_path(read(out)))
    assert after_worker_kill + 8 <= after_scan_kill < n, "the scan was not stopped mid-way"

    resumed = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{after_scan_kill} already in the results" in resumed.stdout
    records = by_path(read(out))
    assert {p: without_timing(r) for p, r in records.items()} == \
        {p: without_timing(r) for p, r in reference.items()}
    assert out.read_bytes().endswith(b"\n")


def test_ray_local_scan_matches_local_pool(inputs: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray.data", reason="--ray needs Ray Data (extra 'scale': ray[data])")
    needs("parquet")
    local = by_path(read_after(scan(str(inputs), str(tmp_path / "local.jsonl"), workers=1)))
    out = tmp_path / "ray.parquet"
    proc = subprocess.run(eyegrad("scan", str(inputs), "--out", str(out), "--ray", "local", "--workers", "2",
                                  "--batch-size", "2"), cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "scanned 7 images" in proc.stdout and "ray local" in proc.stdout
    records = by_path(read(out))
    assert set(records) == set(local)
    for path, r in records.items():
        check_record(r)
        same = ("verdict", "p_fake", "faces", "file_size", "sha256")
        assert {k: r[k] for k in same} == {k: local[path][k] for k in same}
        assert (r["error"] is None) == (local[path]["error"] is None)
