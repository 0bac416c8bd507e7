from __future__ import annotations

import pytest

from t21.media.probe import image_size, sniff

from .conftest import gif, jpeg, mp4, png, webp_lossless, webp_lossy, webp_vp8x


@pytest.mark.parametrize(
    ("data", "content_type", "size"),
    [
        (png(3, 2), "image/png", (3, 2)),
        (jpeg(640, 480), "image/jpeg", (640, 480)),
        (jpeg(4032, 3024, exif_bytes=60_000), "image/jpeg", (4032, 3024)),
        (gif(5, 7), "image/gif", (5, 7)),
        (webp_vp8x(1080, 1350), "image/webp", (1080, 1350)),
        (webp_lossy(400, 300), "image/webp", (400, 300)),
        (webp_lossless(123, 45), "image/webp", (123, 45)),
    ],
)
def test_images_by_content_with_dimensions(data: bytes, content_type: str, size: tuple[int, int]) -> None:
    sniffed = sniff(data)
    assert sniffed is not None
    assert sniffed.kind == "image"
    assert sniffed.content_type == content_type
    assert image_size(content_type, data) == size


@pytest.mark.parametrize(
    ("brand", "content_type"), [(b"isom", "video/mp4"), (b"mp42", "video/mp4"), (b"qt  ", "video/quicktime")]
)
def test_videos_by_ftyp_brand(brand: bytes, content_type: str) -> None:
    sniffed = sniff(mp4(brand))
    assert sniffed is not None
    assert (sniffed.kind, sniffed.content_type) == ("video", content_type)


@pytest.mark.parametrize(
    "data",
    [
        b"hello, I am text pretending to be a JPEG",
        mp4(b"heic"),  # an iPhone photo shares the ftyp box; it is not a video
        b"%PDF-1.7\n",
        b"",
    ],
)
def test_unknown_content_is_not_accepted(data: bytes) -> None:
    assert sniff(data) is None


def test_truncated_headers_have_no_dimensions() -> None:
    assert image_size("image/png", png()[:20]) is None
    assert image_size("image/jpeg", jpeg()[:25]) is None  # cut inside the frame header
    for cut in (22, 29):
        assert image_size("image/webp", webp_vp8x()[:cut]) is None
        assert image_size("image/webp", webp_lossless()[: cut - 6]) is None
        assert image_size("image/webp", webp_lossy()[:cut]) is None
