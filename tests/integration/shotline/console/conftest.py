"""The console against the real local Kafka and S3 server: a fresh topic prefix and bucket
per test, flagged screenshots of two projects published to the topics, a real JPEG in the
bucket, and the console served by uvicorn on a free loopback port in a thread."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from PIL import Image

from schemas import EnrichedScreenshot, KafkaSettings, ProjectConfig, S3ObjectFacts
from schemas.moderation import ModerationLabel, ModerationVerdict, ProjectModeration, Verdict
from shotline.bench.enrich import screenshot
from shotline.console.app import ConsoleApp
from shotline.console.auth import hash_password
from shotline.console.settings import ConsoleSettings, Reviewer
from shotline.dev.topology import free_port_base
from tests.conftest import S3_ENDPOINT, s3_client

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)


def jpeg(width: int = 320, height: int = 180, color: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=80)
    return out.getvalue()


@dataclass
class Seeded:
    kafka: KafkaSettings
    bucket: str
    projects: dict[str, ProjectConfig]
    # project → requestIds of its flagged (review/block) screenshots
    flagged: dict[str, list[str]] = field(default_factory=dict)
    passed: list[str] = field(default_factory=list)


def project_config(bucket: str, webhook: dict[str, object] | None = None) -> ProjectConfig:
    moderation = ProjectModeration(action_webhook=webhook) if webhook else ProjectModeration()
    return ProjectConfig(
        callback_addr="http://127.0.0.1/cb",
        bucket=bucket,
        s3_endpoint=S3_ENDPOINT,
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_addressing_style="path",
        moderation=moderation,
    )


async def publish_screenshot(
    producer: AIOKafkaProducer,
    kafka: KafkaSettings,
    s3: object,
    bucket: str,
    project: str,
    rid: str,
    verdict: Verdict,
    channel: str = "room_1",
) -> None:
    """An enriched screenshot with its object in the bucket, then its verdict."""
    shot = screenshot(0, project, tag=rid)
    shot = shot.model_copy(
        update={
            "request_id": rid,
            "callback": shot.callback.model_copy(update={"requestId": rid, "channelName": channel}),
        }
    )
    key = f"{project}/{rid}.jpg"
    body = jpeg()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="image/jpeg")  # type: ignore[attr-defined]
    facts = S3ObjectFacts(
        bucket=bucket,
        key=key,
        size=len(body),
        etag="0" * 32,
        content_type="image/jpeg",
        last_modified=datetime.now(UTC),
        source="head",
    )
    enriched = EnrichedScreenshot(**shot.model_dump(exclude={"schema_version"}), s3=facts)
    topics = kafka.topics
    await producer.send_and_wait(
        topics.enriched, enriched.model_dump_json().encode(), key=rid.encode()
    )
    score = {Verdict.BLOCK: 0.93, Verdict.REVIEW: 0.61, Verdict.PASS: 0.02}[verdict]
    record = ModerationVerdict(
        request_id=rid,
        project=project,
        verdict=verdict,
        provider="local",
        model="open_nsfw",
        labels=[ModerationLabel(name="nsfw", score=score)],
        latency_ms=28.0,
    )
    await producer.send_and_wait(
        topics.moderation, record.model_dump_json().encode(), key=rid.encode()
    )


@pytest.fixture
async def seeded(kafka: KafkaSettings) -> AsyncIterator[Seeded]:
    """Projects alpha and beta: alpha has a review and a block, beta a block; each has a
    pass that must never show."""
    bucket = f"console-{uuid.uuid4().hex[:12]}"
    s3 = s3_client()
    s3.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    projects = {"alpha": project_config(bucket), "beta": project_config(bucket)}
    seeded = Seeded(kafka, bucket, projects)
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        plan = [
            ("alpha", Verdict.REVIEW, "room_a1"),
            ("alpha", Verdict.BLOCK, "room_a2"),
            ("beta", Verdict.BLOCK, "room_b1"),
            ("alpha", Verdict.PASS, "room_a1"),
            ("beta", Verdict.PASS, "room_b1"),
        ]
        for n, (project, verdict, channel) in enumerate(plan):
            rid = f"{project}-{verdict.value}-{n}-{uuid.uuid4().hex[:6]}"
            await publish_screenshot(producer, kafka, s3, bucket, project, rid, verdict, channel)
            if verdict is Verdict.PASS:
                seeded.passed.append(rid)
            else:
                seeded.flagged.setdefault(project, []).append(rid)
    finally:
        await producer.stop()
    return seeded


def console_settings(**overrides: object) -> ConsoleSettings:
    reviewers = {
        "alice": Reviewer(password_hash=_HASH, projects=("alpha",)),
        "bob": Reviewer(password_hash=_HASH, projects=("beta",)),
    }
    values: dict[str, object] = {"reviewers": reviewers, "login_attempts": 5}
    values.update(overrides)
    return ConsoleSettings.model_validate(values)


class ConsoleServer:
    """uvicorn serving a ``ConsoleApp`` in a thread of its own (its own event loop)."""

    def __init__(self, app: ConsoleApp) -> None:
        self.app = app
        self.port = free_port_base(1)
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning",
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout_s: float = 30.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"{self.url}/healthz", timeout=1)
                if answer.json().get("status") == "ok":
                    return
            except httpx.HTTPError:
                pass
            if not self.thread.is_alive():
                raise RuntimeError("the console did not start")
            time.sleep(0.1)
        raise RuntimeError("the console did not catch up with Kafka in time")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def console_factory(seeded: Seeded) -> Iterator[object]:
    servers: list[ConsoleServer] = []

    def make(
        projects: dict[str, ProjectConfig] | None = None, **overrides: object
    ) -> ConsoleServer:
        settings = console_settings(**overrides)
        app = ConsoleApp(settings, seeded.kafka, projects or seeded.projects)
        server = ConsoleServer(app)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def console(console_factory: object) -> ConsoleServer:
    return console_factory()  # type: ignore[operator, no-any-return]


__all__ = ["ConsoleServer", "Seeded", "asyncio"]


@pytest.fixture
def stage_metrics() -> Iterator[dict[str, str]]:
    """A pipeline stage's /metrics as the processors serve it (a real Prometheus endpoint
    on loopback, filled here), for the status panel: ``{"metrics": url}``."""
    from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

    registry = CollectorRegistry()
    Counter("shotline_processor_records_processed", "", registry=registry).inc(12_345)
    Gauge("shotline_processor_consumer_lag_records", "", registry=registry).set(7)
    Counter("shotline_processor_records_dead_lettered", "", registry=registry).inc(2)
    Gauge("shotline_metrics_billable_images", "", registry=registry).set(12_345)
    cost = Gauge("shotline_metrics_cost_usd", "", ["item"], registry=registry)
    cost.labels("total").set(0.07)
    port = free_port_base(1)
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield {"metrics": f"http://127.0.0.1:{port}/metrics"}
    server.shutdown()
    thread.join(5)


# -- the browser ---------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def browser_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Headless Debian chromium through chromium-driver (``make browser-tools``); nothing
    is downloaded: Selenium is given both paths, so selenium-manager is never asked. The
    network is logged (``performance``) for the offline checks. A failing test leaves a
    screenshot of each open browser in its tmp_path (``pytest_runtest_makereport``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: run `make browser-tools` (make test does it)")
    drivers: list[Any] = []
    request.node.browser_drivers = drivers
    request.node.browser_tmp_path = tmp_path

    def make() -> Any:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in (
            "--headless=new",
            "--no-sandbox",  # tests run as root
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,900",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
        ):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.quit()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    tmp_path = getattr(item, "browser_tmp_path", None)
    for n, driver in enumerate(getattr(item, "browser_drivers", [])):
        if tmp_path is None:
            break
        shot = Path(tmp_path) / f"failure-browser-{n}.png"
        try:
            driver.save_screenshot(str(shot))
            report.sections.append(("browser", f"screenshot of the failing page: {shot}"))
        except Exception as exc:
            report.sections.append(("browser", f"no screenshot: {exc}"))
