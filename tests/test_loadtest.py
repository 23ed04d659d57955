"""A short run of the server load test (benchmarks/loadtest.py): 100 mixed requests at concurrency 4."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("flask", reason="the web extra (flask) is not installed")

from eyegrad.benchmarks.loadtest import MIX, format_report, main, run_loadtest  # noqa: E402


@pytest.fixture(scope="module")
def report():
    return run_loadtest(n_requests=100, concurrency=4, workers=2, max_upload_bytes=256 * 1024, warmup=12)


def test_no_server_errors_and_expected_statuses(report):
    assert report["all"]["n"] == 100
    assert report["all"]["server_errors"] == 0 and report["all"]["no_answer"] == 0
    assert report["all"]["unexpected"] == 0, report["kinds"]
    assert sum(k["n"] for k in report["kinds"].values()) == 100
    assert set(report["kinds"]) == set(MIX)


def test_healthz_kept_answering(report):
    assert report["healthz"]["n"] >= 1
    assert report["healthz"]["ok"] == report["healthz"]["n"]


def test_memory_and_threads_do_not_grow(report):
    assert report["threads"]["after"] <= report["threads"]["before"]
    assert report["rss_mb"]["growth_second_half"] <= report["rss_mb"]["limit"]
    assert report["ok"], report["checks"]


def test_slow_clients_leave_healthz_answering(report):
    case = report["hostile"]["slow_clients"]
    assert case["connected"] >= 100 and case["healthz"]["n"] >= 1
    assert case["ok"] and report["checks"]["hostile_slow_clients"], case


def test_lying_videos_get_their_own_error_and_free_the_workers(report):
    case = report["hostile"]["lying_videos"]
    pytest.importorskip("av", reason="PyAV (the dev extra) writes the lying video")
    assert case["video_statuses"] == [422, 422] and case["image_after"]["status"] == 200, case
    assert case["ok"] and report["checks"]["hostile_lying_videos"], case


def test_latency_reported(report):
    lat = report["all"]["latency_ms"]
    assert lat["runs"] == 100 and 0 < lat["p50"] <= lat["p99"]
    table = format_report(report)
    assert "p99 ms" in table and "checks:" in table


def test_cli_writes_json(tmp_path):
    out = tmp_path / "loadtest.json"
    assert main(["-n", "12", "-c", "2", "--max-upload-kb", "128", "--slow-clients", "0", "--json", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["config"]["n_requests"] == 12 and saved["ok"] is True
