"""The one file sniffer: what a photo or video file is, decided by its first bytes, never by its name.

Used by the scan API, the folder source, video decoding and image decoding alike, so they never disagree about a
file. Images: JPEG, PNG, WebP, GIF, BMP, TIFF, HEIF/HEIC (iPhone photos: an ISO `ftyp` box with a HEIF still-image
brand). Videos: ISO base media (MP4, MOV, 3GP), Matroska/WebM, AVI. Everything else is unknown (None), including
AVIF images, HEIF image sequences and M4A audio, which share MP4's `ftyp` box.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

HEADER_BYTES = 64
"""How many leading bytes `sniff` needs (a Matroska DocType can sit some 40 bytes in)."""
IMAGE_FORMATS = ("JPEG", "PNG", "WebP", "GIF", "BMP", "TIFF", "HEIF")
VIDEO_FORMATS = ("MP4", "MOV", "3GP", "MKV", "WebM", "AVI")
IMAGE_MIME_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp", "image/heic", "image/heif"}
)
VIDEO_MIME_TYPES = frozenset(
    {"video/mp4", "video/quicktime", "video/3gpp", "video/3gpp2", "video/webm", "video/x-matroska", "video/x-msvideo"}
)
"""Every MIME type `sniff` answers, for sources that only have a declared type (a Telegram export's documents)."""

# Major brands of HEIF still images (HEIC is HEIF with HEVC pictures), decoded by pillow-heif.
_HEIF_STILL_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif"}
# Major brands of ISO base media files that are other images or audio, not videos.
_NOT_VIDEO_FTYP_BRANDS = frozenset(
    {
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
        b"mif1", b"msf1", b"avif", b"avis", b"crx ", b"M4A ", b"M4B ", b"M4P ",
    }
)  # fmt: skip
_QUICKTIME_LEADING_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip"})
_BMP_INFO_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})


class Family(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True)
class MediaType:
    """What a file's first bytes say it is. `demuxer` is the FFmpeg demuxer that opens a video (None for images):
    FFmpeg's own probing is never trusted to pick one."""

    family: Family
    mime_type: str
    demuxer: str | None = None

    @property
    def is_image(self) -> bool:
        return self.family is Family.IMAGE

    @property
    def is_video(self) -> bool:
        return self.family is Family.VIDEO


def _image(mime_type: str) -> MediaType:
    return MediaType(Family.IMAGE, mime_type)


def _video(mime_type: str, demuxer: str) -> MediaType:
    return MediaType(Family.VIDEO, mime_type, demuxer)


def sniff(header: bytes) -> MediaType | None:
    """Recognise a photo or video by its first bytes (`HEADER_BYTES` of them); None for anything else."""
    return _sniff_image(header) or _sniff_video(header)


def sniff_file(path: Path) -> MediaType | None:
    """`sniff` on a file's first bytes; raises OSError when it cannot be read."""
    with path.open("rb") as file:
        return sniff(file.read(HEADER_BYTES))


def _sniff_image(header: bytes) -> MediaType | None:
    if header.startswith(b"\xff\xd8\xff"):
        return _image("image/jpeg")
    if header.startswith(b"\x89PNG\r\n\x1a\n"):
        return _image("image/png")
    if header.startswith((b"GIF87a", b"GIF89a")):
        return _image("image/gif")
    if header.startswith(b"RIFF") and header[8:12] == b"WEBP":
        return _image("image/webp")
    if header.startswith((b"II*\x00", b"MM\x00*")):
        return _image("image/tiff")
    if _is_bmp(header):
        return _image("image/bmp")
    return None


def _is_bmp(header: bytes) -> bool:
    """A BMP: the two letters BM are too weak alone (a text file may start so), the DIB header size must be known."""
    return header.startswith(b"BM") and int.from_bytes(header[14:18], "little") in _BMP_INFO_HEADER_SIZES


def _sniff_video(header: bytes) -> MediaType | None:
    if header.startswith(b"RIFF") and header[8:12] == b"AVI ":
        return _video("video/x-msvideo", "avi")
    if header.startswith(b"\x1a\x45\xdf\xa3"):
        return _video("video/webm" if b"webm" in header else "video/x-matroska", "matroska")
    return _sniff_iso_media(header)


def _sniff_iso_media(header: bytes) -> MediaType | None:
    box_type = header[4:8]
    if box_type in _QUICKTIME_LEADING_ATOMS:
        return _video("video/quicktime", "mov")
    if box_type != b"ftyp":
        return None
    brand = header[8:12]
    if brand in _HEIF_STILL_BRANDS:
        return _image(_HEIF_STILL_BRANDS[brand])
    if brand in _NOT_VIDEO_FTYP_BRANDS:
        return None
    return _video(_iso_mime_type(brand), "mov")


def _iso_mime_type(brand: bytes) -> str:
    if brand == b"qt  ":
        return "video/quicktime"
    if brand.startswith(b"3gp"):
        return "video/3gpp"
    if brand.startswith(b"3g2"):
        return "video/3gpp2"
    return "video/mp4"
