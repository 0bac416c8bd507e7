"""What a file is, from its first bytes: never from its name or the declared Content-Type,
which the uploader controls. Image dimensions come from the format headers (no imaging library)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Enough for any real JPEG: SOF follows the APPn segments (EXIF + thumbnail are < 64 KiB each).
PROBE_BYTES = 512 * 1024

# ISO-BMFF major brands of playable MP4/MOV video. HEIC/AVIF images use the same `ftyp` box
# (brands heic, mif1, avif, ...) and must not pass as video.
_MP4_BRANDS = frozenset(
    {
        b"isom",
        b"iso2",
        b"iso3",
        b"iso4",
        b"iso5",
        b"iso6",
        b"mp41",
        b"mp42",
        b"avc1",
        b"M4V ",
        b"M4VP",
        b"dash",
        b"mmp4",
        b"MSNV",
        b"f4v ",
    }
)
_QUICKTIME_BRANDS = frozenset({b"qt  "})


@dataclass(frozen=True)
class Sniffed:
    kind: str  # image | video
    content_type: str
    extension: str


def sniff(head: bytes) -> Sniffed | None:
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg", ".jpg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png", ".png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "image/gif", ".gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp", ".webp")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _MP4_BRANDS:
            return Sniffed("video", "video/mp4", ".mp4")
        if brand in _QUICKTIME_BRANDS:
            return Sniffed("video", "video/quicktime", ".mov")
    return None


def image_size(content_type: str, head: bytes) -> tuple[int, int] | None:
    """(width, height) from the header, or None when the header is truncated or malformed."""
    try:
        if content_type == "image/png":
            return _png(head)
        if content_type == "image/gif":
            width, height = struct.unpack("<HH", head[6:10])
            return (width, height) if width and height else None
        if content_type == "image/webp":
            return _webp(head)
        if content_type == "image/jpeg":
            return _jpeg(head)
    except struct.error:
        return None
    return None


def _png(head: bytes) -> tuple[int, int] | None:
    # Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4): the first chunk, always.
    if head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return (width, height) if width and height else None


def _webp(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 ":  # lossy: frame tag (3), start code 9d 01 2a, then 14-bit sizes
        if head[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":  # lossless: signature 0x2f, then 14-bit (size - 1) fields
        if len(head) < 25 or head[20] != 0x2F:
            return None
        b0, b1, b2, b3 = head[21:25]
        width = 1 + (((b1 & 0x3F) << 8) | b0)
        height = 1 + (((b3 & 0x0F) << 10) | (b2 << 2) | ((b1 & 0xC0) >> 6))
        return width, height
    if chunk == b"VP8X":  # extended: 24-bit (canvas size - 1) fields
        if len(head) < 30:
            return None
        width = 1 + int.from_bytes(head[24:27], "little")
        height = 1 + int.from_bytes(head[27:30], "little")
        return width, height
    return None


# Start-of-frame markers carry the dimensions; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(head: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # standalone markers have no length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any SOF: malformed
            return None
        (length,) = struct.unpack(">H", head[pos + 2 : pos + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", head[pos + 5 : pos + 9])
            return (width, height) if width and height else None
        pos += 2 + length
    return None
