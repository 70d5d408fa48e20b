"""/healthz and /metrics: the worker's and the sources' health, from the store."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from revier_feed.app import App
from revier_feed.config import AppConfig
from revier_feed.demo.server import Response, SampleRegion
from revier_feed.models import (
    DigestLogEntry,
    DigestState,
    HealthStatus,
    MetricSample,
    SourceState,
    SourceStatus,
)
from revier_feed.monitor import judge
from revier_feed.serve import FeedServer
from revier_feed.serve.metrics import render

from .conftest import Clock, prepare_test_demo

MakeApp = Callable[[AppConfig], App]
NOW = datetime(2021, 8, 2, 8, 0, tzinfo=UTC)


def get(port: int, path: str) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read().decode("utf-8")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def test_healthz_is_503_without_a_worker(demo_config: AppConfig, make_app: MakeApp) -> None:
    app = make_app(demo_config)
    app.run_cycle()
    server = FeedServer(app, "127.0.0.1", 0)
    server.start()
    try:
        status, headers, body = get(server.port, "/healthz")
    finally:
        server.stop()
    assert status == 503
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    report = json.loads(body)
    assert report["status"] == "unhealthy"
    assert report["worker"]["running"] is False
    assert "no worker" in report["problems"][0]
    assert report["sources"] == {"total": 6, "by_status": {"ok": 6}, "failing": []}


def test_healthz_follows_the_worker_and_its_sources(
    demo_config: AppConfig, make_app: MakeApp, clock: Clock, region: SampleRegion
) -> None:
    app = make_app(demo_config)
    server = FeedServer(app, "127.0.0.1", 0)
    server.start()
    try:
        with app.exclusive("revier-feed run"):
            assert get(server.port, "/healthz")[0] == 503, "no cycle finished yet"
            app.run_cycle()
            status, _, body = get(server.port, "/healthz")
            report = json.loads(body)
            assert status == 200 and report["status"] == "ok", report
            assert "revier-feed run" in report["worker"]["holder"]
            assert report["worker"]["last_cycle_at"] == clock().isoformat()

            region.add_route("/bbsr/presse/feed.atom", Response(500, b"kaputt"))
            clock.advance(timedelta(hours=2))
            app.run_cycle()
            status, _, body = get(server.port, "/healthz")
            report = json.loads(body)
            assert status == 200 and report["status"] == "degraded"
            assert report["sources"]["failing"] == ["bbsr"]
            assert "bbsr" in report["problems"][0]

            # A worker that stops finishing cycles is as bad as no worker.
            clock.advance(timedelta(minutes=11))
            status, _, body = get(server.port, "/healthz")
            assert status == 503
            assert "last cycle finished 11 minutes ago" in json.loads(body)["problems"][0]
    finally:
        server.stop()


def test_every_source_failing_is_unhealthy() -> None:
    failing = SourceState("a", status=SourceStatus.FAILING)
    gone = SourceState("b", status=SourceStatus.GONE)
    health = judge({"a": failing, "b": gone, "c": None}, "pid 1", NOW, NOW, timedelta(minutes=10))
    assert health.status is HealthStatus.UNHEALTHY
    assert health.problems == ("every source is failing (2)",)
    fine = SourceState("c", status=SourceStatus.OK)
    health = judge({"a": failing, "c": fine}, "pid 1", NOW, NOW, timedelta(minutes=10))
    assert health.status is HealthStatus.DEGRADED


def test_a_last_cycle_dated_ahead_of_the_clock_is_unhealthy() -> None:
    """Set back an hour, the clock made an hour-old cycle look fresh: "ok" for an hour."""
    fine = {"a": SourceState("a", status=SourceStatus.OK)}
    ahead = NOW + timedelta(hours=1)
    health = judge(fine, "pid 1", ahead, NOW, timedelta(minutes=10))
    assert health.status is HealthStatus.UNHEALTHY
    assert health.problems == (
        "the worker's last cycle is dated 60 minutes ahead of this machine's clock (was the "
        "clock set back?)",
    )
    # A cycle that ended a moment "ahead" (clocks of two processes) is fine.
    health = judge(fine, "pid 1", NOW + timedelta(seconds=30), NOW, timedelta(minutes=10))
    assert health.status is HealthStatus.OK


def start_server(config_dir: Path) -> tuple[subprocess.Popen[str], int]:
    exe = Path(sys.executable).parent / "revier-feed"
    process = subprocess.Popen(
        [str(exe), "--config", str(config_dir), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"at http://127\.0\.0\.1:(\d+)/", line)
    if not found:
        process.kill()
        raise AssertionError(f"no address in {line!r}: {process.communicate()[1]}")
    return process, int(found.group(1))


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    series = f"{name}{{{wanted}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in metrics")


def test_metrics_from_a_separate_server_process(
    demo_config: AppConfig,
    make_app: MakeApp,
    clock: Clock,
    region: SampleRegion,
    expected_items: list[dict[str, Any]],
) -> None:
    region.add_route("/leipziger-messe/presse/rss.xml", Response(503, b"wartung"))
    app = make_app(demo_config)
    app.run_cycle()
    clock.advance(timedelta(hours=2))
    app.run_cycle()
    server, port = start_server(demo_config.config_dir)
    try:
        status, headers, text = get(port, "/metrics")
    finally:
        server.terminate()
        server.communicate(timeout=10)
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE revier_fetches_total counter" in text
    assert "# TYPE revier_fetch_duration_seconds histogram" in text
    assert metric(text, "revier_fetches_total", source="bbsr", outcome="ok") == 1
    assert metric(text, "revier_fetches_total", source="bbsr", outcome="not_modified") == 1
    assert metric(text, "revier_fetches_total", source="leipziger-messe", outcome="http_5xx") == 2
    assert metric(text, "revier_cycles_total") == 2
    assert metric(text, "revier_fetch_duration_seconds_count") == 12
    assert metric(text, "revier_fetch_duration_seconds_bucket", le="+Inf") == 12
    buckets = re.findall(r'revier_fetch_duration_seconds_bucket\{le="([^"]+)"\} (\d+)', text)
    counts = [int(n) for _, n in buckets]
    assert counts == sorted(counts) and buckets[-1][0] == "+Inf", "cumulative, +Inf last"
    assert metric(text, "revier_items", source="metropolregion") == 10
    collected = [i for i in expected_items if i["site"] != "leipziger-messe"]
    assert metric(text, "revier_items_stored_total", change="new") == len(collected)
    assert metric(text, "revier_stories") == len({i["story"] for i in collected})
    assert metric(text, "revier_source_status", source="leipziger-messe", status="failing") == 1
    assert metric(text, "revier_source_consecutive_failures", source="leipziger-messe") == 2
    assert metric(text, "revier_worker_up") == 0
    assert metric(text, "revier_worker_last_cycle_timestamp_seconds") == clock().timestamp()
    # Both cycles published; none failed.
    assert metric(text, "revier_publish_last_success_timestamp_seconds") == clock().timestamp()
    assert "revier_publish_failures_total" not in text


def test_run_serve_collects_and_serves_in_one_process(
    tmp_path: Path, region: SampleRegion
) -> None:
    config_dir = prepare_test_demo(tmp_path / "demo", region.base_url)
    settings = config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text("utf-8") + "worker:\n  tick: 1s\n  publish_delay: 1s\n", "utf-8"
    )
    exe = Path(sys.executable).parent / "revier-feed"
    worker = subprocess.Popen(
        [str(exe), "--config", str(config_dir), "run", "--serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stderr is not None
        port = None
        for line in worker.stderr:
            found = re.search(r"serving .* at http://127\.0\.0\.1:(\d+)/", line)
            if found:
                port = int(found.group(1))
                break
        assert port is not None, "the server never said where it listens"
        deadline = time.monotonic() + 30
        while (status := get(port, "/healthz")[0]) != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status == 200, "healthy once the first cycle finished"
        # The worker publishes right after its first cycle.
        while (
            status := get(port, "/feeds/all.rss.xml")[0]
        ) != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        status, headers, body = get(port, "/feeds/all.rss.xml")
        assert status == 200 and headers["content-type"] == "application/rss+xml; charset=utf-8"
        assert "Wasserstoff" in body
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=20)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    try:
        get(port, "/healthz")
    except OSError:
        pass
    else:
        raise AssertionError("the server still answers after the worker stopped")


def test_metric_labels_are_escaped() -> None:
    text = render([MetricSample("revier_items", (("source", 'a"b\\c\nd'),), 3.0)]).decode()
    assert 'revier_items{source="a\\"b\\\\c\\nd"} 3' in text.splitlines()


def test_metrics_count_digests_by_state(demo_config: AppConfig, make_app: MakeApp) -> None:
    app = make_app(demo_config)
    for partner, state in (("a", DigestState.SENT), ("b", DigestState.SENT), ("c", "failed")):
        entry = DigestLogEntry(partner, "2021-W31", NOW, NOW, NOW, DigestState(state))
        app.storage.save_digest_state(entry, NOW)
    text = render(app.metric_samples()).decode()
    assert "# TYPE revier_digests gauge" in text
    assert metric(text, "revier_digests", state="sent") == 2
    assert metric(text, "revier_digests", state="failed") == 1
