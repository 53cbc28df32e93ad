from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from typer.testing import CliRunner

from shotline.cli import app
from shotline.dev import monitor as monitor_module
from shotline.dev.monitor import Monitor, scrape
from shotline.dev.pipeline import Pipeline, Stage
from shotline.dev.run import simulator_stage
from shotline.dev.topology import Layout, free_port_base, stages, write_config
from shotline.errors import PipelineError
from shotline.settings import load_settings

HEALTH_SERVER = """
import http.server, signal, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))
server.serve_forever()
"""


@pytest.fixture
def exporter() -> Iterator[tuple[str, CollectorRegistry]]:
    registry = CollectorRegistry()
    port = free_port_base(1)
    server, thread = start_http_server(port, "127.0.0.1", registry=registry)
    try:
        yield f"http://127.0.0.1:{port}/metrics", registry
    finally:
        server.shutdown()
        thread.join(5)


def test_processors_start_before_ingest_each_on_its_own_port() -> None:
    layout = Layout(ingest_port=18080, processor_base_port=19100, project="p1")
    out = stages(layout, ["dedupe", "metrics"])
    assert [s.name for s in out] == ["dedupe", "metrics", "ingest"]
    assert out[0].argv[-4:] == ("process", "dedupe", "--port", "19100")
    assert out[1].metrics_url == "http://127.0.0.1:19101/metrics"
    assert out[2].health_url == "http://127.0.0.1:18080/readyz"
    assert layout.callback_url == "http://127.0.0.1:18080/v1/callbacks/p1"


def test_stages_fetch_waits_enrich_shorter_billing_longer() -> None:
    out = {
        s.name: dict(s.defaults) for s in stages(Layout(), ["dedupe", "enrich", "tally", "metrics"])
    }
    wait = "SHOTLINE_PROCESSORS_FETCH_MAX_WAIT_MS"
    assert out["tally"] == out["metrics"] == {wait: "500"}
    assert out["enrich"] == {wait: "60"}
    assert out["dedupe"] == out["ingest"] == {}


def test_a_stage_default_yields_to_the_pipeline_environment(tmp_path: Path) -> None:
    show = (sys.executable, "-c", "import os; print(os.environ['A'], os.environ['B'])")
    stage = Stage("show", show, defaults=(("A", "stage"), ("B", "stage")))
    pipeline = Pipeline(tmp_path, {"B": "pipeline"})
    pipeline.start(stage)
    assert pipeline.procs["show"].wait(30) == 0
    assert pipeline.log("show").read_text().split() == ["stage", "pipeline"]


def test_generated_config_is_read_back_by_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = Layout(ingest_port=18080, project="demo")
    path = write_config(tmp_path / "c.toml", layout, "bucket-a", "http://127.0.0.1:9000")
    monkeypatch.setenv("SHOTLINE_CONFIG", str(path))
    project = load_settings().projects["demo"]
    assert project.callback_addr == layout.callback_url
    assert project.bucket == "bucket-a"


def test_simulator_stage_arguments_are_all_understood(tmp_path: Path) -> None:
    stage = simulator_stage(Layout(), tmp_path, rate=5)
    args = [*stage.argv[1:], "--count", "0", "--no-upload", "--acked-file", str(tmp_path / "a")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a").read_text() == ""
    assert (tmp_path / "simulator.json").exists()


def test_pipeline_waits_for_health_and_stops_in_reverse_order(tmp_path: Path) -> None:
    base = free_port_base(2)
    pipeline = Pipeline(tmp_path, {})
    for index in range(2):
        port = base + index
        pipeline.start(
            Stage(
                f"svc{index}",
                (sys.executable, "-c", HEALTH_SERVER, str(port)),
                health_url=f"http://127.0.0.1:{port}/healthz",
            )
        )
    pipeline.wait_ready(timeout_s=20)
    assert pipeline.dead() == {}
    codes = pipeline.stop(timeout_s=10)
    assert list(codes) == ["svc1", "svc0"]
    assert codes == {"svc1": 7, "svc0": 7}


def test_a_stage_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    pipeline = Pipeline(tmp_path, {})
    argv = (sys.executable, "-c", "print('boom: no broker'); raise SystemExit(3)")
    pipeline.start(Stage("bad", argv, health_url="http://127.0.0.1:9/healthz"))
    with pytest.raises(PipelineError, match="boom: no broker"):
        pipeline.wait_ready(timeout_s=20)
    pipeline.stop()


def test_a_stage_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    pipeline = Pipeline(tmp_path, {})
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    pipeline.start(Stage("stubborn", (sys.executable, "-c", code)))
    time.sleep(0.5)
    started = time.monotonic()
    assert pipeline.stop(timeout_s=1) == {"stubborn": -9}
    assert time.monotonic() - started < 10


def test_scrape_sums_samples_by_name_and_labels(exporter: tuple[str, CollectorRegistry]) -> None:
    url, registry = exporter
    cost = Gauge("shotline_usage_cost_usd", "c", ["project", "item"], registry=registry)
    cost.labels("a", "total").set(1.5)
    cost.labels("b", "total").set(2.0)
    cost.labels("a", "images").set(1.0)
    samples = scrape(url)
    assert samples is not None
    assert samples.total("shotline_usage_cost_usd", item="total") == 3.5
    assert samples.total("shotline_usage_cost_usd") == 4.5
    assert samples.total("absent") is None
    assert scrape("http://127.0.0.1:9/metrics") is None


def test_monitor_shows_rate_lag_dlq_duplicates_and_bill(
    exporter: tuple[str, CollectorRegistry], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, registry = exporter
    # The monitor's clock is injected, so the rate is exact whatever the machine's load.
    clock = [1000.0]
    monkeypatch.setattr(monitor_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    processed = Counter(
        "shotline_processor_records_processed", "p", ["processor"], registry=registry
    )
    Gauge("shotline_processor_consumer_lag_records", "l", registry=registry).set(12)
    Counter("shotline_processor_records_dead_lettered", "d", registry=registry).inc(2)
    Counter("shotline_dedupe_duplicates", "d", registry=registry).inc(40)
    Gauge("shotline_metrics_cost_usd", "c", ["item"], registry=registry).labels("total").set(0.42)
    Gauge("shotline_metrics_billable_images", "b", registry=registry).set(11_400)
    Gauge("shotline_metrics_free_tier", "f", ["item"], registry=registry).labels("images").set(1e4)
    stats = tmp_path / "sim.json"
    monitor = Monitor([Stage("dedupe", ("x",), metrics_url=url)], sim_stats=stats)
    processed.labels("dedupe").inc(100)
    first = monitor.poll()
    assert [r.stage for r in first] == ["simulator", "dedupe"]
    assert first[0].notes == "starting"
    clock[0] += 0.5
    processed.labels("dedupe").inc(60)
    row = monitor.poll()[1]
    assert row.total == 160
    assert row.rate == pytest.approx(120.0)  # 60 records in 0.5 s
    assert (row.lag, row.dlq) == ("12", "2")
    assert "duplicates dropped 40" in row.notes
    assert "bill so far $0.42" in row.notes
    assert "billable images 11,400 (free 10,000)" in row.notes


def test_monitor_shows_the_moderation_verdicts(exporter: tuple[str, CollectorRegistry]) -> None:
    url, registry = exporter
    Counter("shotline_processor_records_processed", "p", registry=registry).inc(9)
    verdicts = Counter(
        "shotline_moderation_verdicts", "v", ["project", "provider", "verdict"], registry=registry
    )
    verdicts.labels("demo", "local", "pass").inc(5)
    verdicts.labels("demo", "local", "block").inc(1)
    verdicts.labels("demo", "none", "skipped").inc(3)
    row = Monitor([Stage("moderate", ("x",), metrics_url=url)]).poll()[0]
    assert (row.stage, row.total) == ("moderate", 9)
    assert "block 1 review 0 pass 5 skipped 3" in row.notes
