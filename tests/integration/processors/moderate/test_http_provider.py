"""The generic HTTP provider's request: the shotline preset's JSON with a presigned GET URL
of the configured expiry, headers from the environment, and a body signature."""

from __future__ import annotations

import httpx
import orjson
import pytest

from processors.moderate.signing import SIGNATURE_HEADER, verify
from tests.integration.processors.moderate.fakeprovider import FakeProvider, Script, serving
from tests.unit.processors.moderate.shots import (
    BUCKET,
    enriched,
    moto_bucket,
    project,
    record,
    started,
)

pytestmark = pytest.mark.s3


async def test_shotline_preset_request_is_presigned_signed_and_authorised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOTLINE_TEST_PROVIDER_TOKEN", "tok-123")
    monkeypatch.setenv("SHOTLINE_TEST_PROVIDER_HMAC", "sign-me")
    fake = FakeProvider(Script())
    async with serving(fake) as url:
        provider = {
            "kind": "http",
            "url": url,
            "headers": {"Authorization": "Bearer env:SHOTLINE_TEST_PROVIDER_TOKEN"},
            "hmac_secret_env": "SHOTLINE_TEST_PROVIDER_HMAC",
            "presign_expiry_s": 120,
        }
        proc, registry = await started(
            {"p1": project({"providers": ["vendor"]})}, {"providers": {"vendor": provider}}
        )
        try:
            result = await proc.handle([record(enriched(0), offset=0)])
        finally:
            await proc.stop()
    (verdict,) = [e.value for e in result.emits]
    assert verdict.provider == "vendor"  # type: ignore[attr-defined]
    ((headers, body),) = fake.requests
    assert headers["authorization"] == "Bearer tok-123"
    assert verify(b"sign-me", body, headers[SIGNATURE_HEADER.lower()])
    sent = orjson.loads(body)
    shot = enriched(0)
    assert sent["requestId"] == "req-0"
    assert sent["project"] == "p1"
    assert (sent["bucket"], sent["key"]) == (BUCKET, shot.callback.object)
    assert (sent["channelName"], sent["userId"]) == ("room_1", "42")
    assert sent["timestamp"] == shot.callback.timestamp
    assert sent["image_url"].startswith(f"http://127.0.0.1:9000/{BUCKET}/")
    assert "X-Amz-Expires=120" in sent["image_url"]
    s3 = moto_bucket()
    s3.put_object(Bucket=BUCKET, Key=shot.callback.object, Body=b"the screenshot")
    async with httpx.AsyncClient() as client:  # what the provider does with the URL
        fetched = await client.get(sent["image_url"])
    assert (fetched.status_code, fetched.content) == (200, b"the screenshot")
    calls = registry.get_sample_value(
        "shotline_moderation_provider_calls_total", {"provider": "vendor", "outcome": "ok"}
    )
    assert calls == 1
