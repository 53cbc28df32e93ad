from __future__ import annotations

import io

from PIL import Image

from shotline.simulate import jpeg_bytes


def test_image_is_a_decodable_8x8_grey_jpeg_carrying_its_tag() -> None:
    image = Image.open(io.BytesIO(jpeg_bytes("req-1")))
    image.load()
    assert (image.format, image.size, image.mode) == ("JPEG", (8, 8), "L")
    assert image.info["comment"] == b"req-1"
    levels = set(image.tobytes())
    assert len(levels) == 1
    assert next(iter(levels)) in set(range(65, 97)) | set(range(160, 192))


def test_every_tag_gives_different_bytes_and_many_give_different_pixels() -> None:
    images = [jpeg_bytes(f"request-{i}") for i in range(200)]
    assert len(set(images)) == 200
    levels = {Image.open(io.BytesIO(data)).tobytes()[0] for data in images}
    assert len(levels) > 20
