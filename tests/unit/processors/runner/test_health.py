"""/healthz reflects the processors' states; /metrics serves the app's own registry."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry, Counter

from processors.runner.health import HealthServer


async def test_healthz_is_200_only_while_every_processor_runs_and_metrics_are_served() -> None:
    registry = CollectorRegistry()
    Counter("shotline_processor_test_total", "t", registry=registry).inc(3)
    states = {"dedupe": "running", "flagger": "starting"}
    server = HealthServer(registry, lambda: states, "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            starting = await client.get("/healthz")
            states["flagger"] = "running"
            running = await client.get("/healthz")
            metrics = await client.get("/metrics")
            missing = await client.get("/nope")
    finally:
        await server.stop()
    assert starting.status_code == 503
    assert starting.json()["processors"] == {"dedupe": "running", "flagger": "starting"}
    assert running.status_code == 200
    assert running.json()["status"] == "ok"
    assert "shotline_processor_test_total 3.0" in metrics.text
    assert missing.status_code == 404
