"""The console in a real headless browser (Debian chromium via chromium-driver), against
the real local Kafka and S3 server: sign-in, own projects only, thumbnails that load, live
removal of a decided screenshot from a second session, the decision in Kafka, sign-out,
and no request to any host but the console's own.

``SHOTLINE_UPDATE_SCREENSHOT=1`` makes the first test save the page to docs/console.png.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from schemas import KafkaSettings
from schemas.decision import ReviewDecision
from schemas.moderation import Verdict
from tests.integration.shotline.console.conftest import (
    PASSWORD,
    ConsoleServer,
    Seeded,
    publish_screenshot,
    s3_client,
)
from tests.paths import ROOT

pytestmark = [pytest.mark.kafka, pytest.mark.s3, pytest.mark.browser]


def sign_in(driver: Any, console: ConsoleServer, name: str = "alice") -> None:
    driver.get(f"{console.url}/")
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "login"))
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "reviewer"))
    assert driver.find_element(By.ID, "reviewer").text == name


def listed(driver: Any) -> set[str]:
    """The requestIds on the page, read in one go (the page may replace its list at any
    moment, which would make element handles stale)."""
    ids = driver.execute_script(
        "return [...document.querySelectorAll('li.item')].map(e => e.dataset.requestId);"
    )
    return set(ids)


def requested_hosts(driver: Any) -> set[str]:
    """Every host:port the page asked for anything (Network.requestWillBeSent)."""
    hosts = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.requestWillBeSent":
            continue
        url = message["params"]["request"]["url"]
        parts = urlsplit(url)
        hosts.add(f"{parts.scheme}://{parts.netloc}" if parts.netloc else parts.scheme)
    return hosts


def test_reviewer_sees_own_flagged_screenshots_with_thumbnails_offline(
    browser_factory: Any, console_factory: Any, seeded: Seeded, stage_metrics: dict[str, str]
) -> None:
    console: ConsoleServer = console_factory(status_targets=stage_metrics)
    driver = browser_factory()
    sign_in(driver, console, "alice")
    # the status panel: make run's figures for the stage, read from its /metrics
    status = driver.find_element(By.ID, "status").text
    assert "12,345" in status
    assert "bill so far $0.07" in status
    assert listed(driver) == set(seeded.flagged["alpha"])  # not beta's, not the passes
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script(
            "const imgs = [...document.querySelectorAll('img.thumb')];"
            "return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);"
        )
    )
    widths = driver.execute_script(
        "return [...document.querySelectorAll('img.thumb')].map(i => i.naturalWidth);"
    )
    assert widths == [320] * len(seeded.flagged["alpha"])
    # the verdict's facts are on the page: channel and label scores
    text = driver.find_element(By.ID, "queue").text
    assert "room_a1" in text
    assert "nsfw 0.61" in text
    assert "nsfw 0.93" in text
    # filters: blocks only
    driver.get(f"{console.url}/?verdict=block")
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "items"))
    blocks = [rid for rid in seeded.flagged["alpha"] if "-block-" in rid]
    assert listed(driver) == set(blocks)
    driver.get(f"{console.url}/?channel=room_a1")
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "items"))
    assert listed(driver) == {rid for rid in seeded.flagged["alpha"] if "-review-" in rid}
    driver.get(f"{console.url}/asyncapi")
    assert "shotline.moderation.decisions.v1" in driver.find_element(By.ID, "channels").text
    driver.get(f"{console.url}/")
    WebDriverWait(driver, 10).until(lambda d: len(listed(d)) == 2)
    time.sleep(0.5)  # the page's own script has fetched what it fetches at start
    assert requested_hosts(driver) == {console.url}
    if os.environ.get("SHOTLINE_UPDATE_SCREENSHOT") == "1":
        driver.save_screenshot(str(ROOT / "docs" / "console.png"))


async def decisions_in_kafka(kafka: KafkaSettings, timeout_s: float = 10.0) -> list[Any]:
    topic = kafka.topics.moderation_decisions
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), group_id=None, enable_auto_commit=False)
    await consumer.start()
    found: list[Any] = []
    try:
        parts = await consumer._client.fetch_all_metadata()
        tps = [TopicPartition(topic, p) for p in parts.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            found += [msg for msgs in batch.values() for msg in msgs]
            positions = [await consumer.position(tp) for tp in tps]
            if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                break
    finally:
        await consumer.stop()
    return found


async def test_decision_leaves_a_second_session_within_2s_and_is_in_kafka(
    browser_factory: Any, console: ConsoleServer, seeded: Seeded
) -> None:
    first, second = browser_factory(), browser_factory()
    sign_in(first, console, "alice")
    sign_in(second, console, "alice")
    review = next(rid for rid in seeded.flagged["alpha"] if "-review-" in rid)
    assert review in listed(first)
    assert review in listed(second)
    time.sleep(0.5)  # the second page's event stream is open
    item = first.find_element(By.CSS_SELECTOR, f'li.item[data-request-id="{review}"]')
    item.find_element(By.NAME, "note").send_keys("swimsuit, fine")
    item.find_element(By.CSS_SELECTOR, "button[value=overturn]").click()
    clicked = time.monotonic()
    WebDriverWait(second, 2.0, poll_frequency=0.05).until(lambda d: review not in listed(d))
    assert time.monotonic() - clicked <= 2.0
    WebDriverWait(first, 2.0).until(lambda d: review not in listed(d))
    records = await decisions_in_kafka(seeded.kafka)
    mine = [m for m in records if m.key == review.encode()]
    assert len(mine) == 1
    decision = ReviewDecision.model_validate_json(mine[0].value)
    assert (decision.project, decision.reviewer, decision.action.value) == (
        "alpha",
        "alice",
        "overturn",
    )
    assert (decision.verdict.value, decision.note, decision.unblock) == (
        "review",
        "swimsuit, fine",
        "not_applicable",
    )
    # its history shows the verdict and the decision
    second.get(f"{console.url}/history/{review}")
    history = second.find_element(By.ID, "decisions").text
    assert "alice" in history
    assert "overturn" in history
    assert "swimsuit, fine" in history


def test_signing_out_ends_the_session(
    browser_factory: Any, console: ConsoleServer, seeded: Seeded
) -> None:
    driver = browser_factory()
    sign_in(driver, console, "alice")
    cookie = driver.get_cookie("shotline_console")
    assert cookie is not None
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert httpx.get(
        f"{console.url}/api/me", headers={"Cookie": f"shotline_console={cookie['value']}"}
    ).json() == {"reviewer": "alice", "projects": ["alpha"]}
    driver.find_element(By.CSS_SELECTOR, "#logout button").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "login"))
    driver.get(f"{console.url}/")
    assert driver.find_elements(By.ID, "login")  # back at the sign-in form
    stale = httpx.get(
        f"{console.url}/api/me", headers={"Cookie": f"shotline_console={cookie['value']}"}
    )
    assert stale.status_code == 401


async def test_a_new_flagged_screenshot_appears_without_a_reload(
    browser_factory: Any, console: ConsoleServer, seeded: Seeded
) -> None:
    driver = browser_factory()
    sign_in(driver, console, "alice")
    driver.execute_script("window.notReloaded = true;")
    rid = "alpha-late-block"
    producer = AIOKafkaProducer(**seeded.kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        await publish_screenshot(
            producer, seeded.kafka, s3_client(), seeded.bucket, "alpha", rid, Verdict.BLOCK
        )
    finally:
        await producer.stop()
    WebDriverWait(driver, 5, poll_frequency=0.1).until(lambda d: rid in listed(d))
    assert driver.execute_script("return window.notReloaded === true;")
    assert driver.find_element(By.ID, "total").text == str(len(seeded.flagged["alpha"]) + 1)
