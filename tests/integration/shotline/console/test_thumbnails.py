"""Thumbnails in both modes against the real local S3 server: the bytes proxied by the
console (default), or a presigned GET URL the browser follows."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import S3_ENDPOINT
from tests.integration.shotline.console.conftest import ConsoleServer, Seeded
from tests.integration.shotline.console.test_security import sign_in

pytestmark = [pytest.mark.kafka, pytest.mark.s3]


def test_proxied_thumbnail_is_the_objects_jpeg(console_factory: Any, seeded: Seeded) -> None:
    console: ConsoleServer = console_factory(cookie_secure=False)
    rid = seeded.flagged["alpha"][0]
    with httpx.Client(base_url=console.url) as client:
        sign_in(client, "alice")
        answer = client.get(f"/thumb/{rid}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"].startswith("private")
    assert Image.open(io.BytesIO(answer.content)).size == (320, 180)


def test_presigned_thumbnail_redirects_to_a_signed_url_that_works(
    console_factory: Any, seeded: Seeded
) -> None:
    console: ConsoleServer = console_factory(cookie_secure=False, thumbnails="presigned")
    rid = seeded.flagged["alpha"][0]
    with httpx.Client(base_url=console.url) as client:
        sign_in(client, "alice")
        answer = client.get(f"/thumb/{rid}")
        page = client.get("/")
    # the page lets the browser load images from the store, and from nowhere else
    assert f"img-src 'self' {S3_ENDPOINT};" in page.headers["content-security-policy"]
    assert answer.status_code == 302
    url = answer.headers["location"]
    assert "X-Amz-Signature=" in url
    assert url.startswith(f"{S3_ENDPOINT}/")
    image = httpx.get(url)
    assert image.status_code == 200
    assert image.content[:2] == b"\xff\xd8"
