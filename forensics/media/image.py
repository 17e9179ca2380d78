"""The one image decode pipeline: ingest, search-by-image, faces and thumbnails all use it.

A different decode path (no draft, another resampler, alpha flattened differently) moves
pHash by several bits, so every caller that hashes or compares pixels goes through here.
"""
from __future__ import annotations

import io
import math
import threading
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageFile, ImageOps

from forensics.model import error_message

try:  # HEIC/HEIF phone photos
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - optional codec missing
    pillow_heif = None

# Beyond this many pixels a file is treated as a decompression bomb and never decoded.
# Pillow's own default (89 MP warning, 179 MP error) rejects real 200 MP phone panoramas.
MAX_PIXELS = 250_000_000
Image.MAX_IMAGE_PIXELS = None  # we check size from the header ourselves, before decoding

# Decoded images are reduced to at most this many pixels before anything else touches
# them (hashes, thumbnails, face detection): 64 MP keeps today's 48-50 MP phone photos at
# full resolution, and bounds a worker's pixels after decoding to 64 MP x 3 bytes (192 MiB).
# The decode itself is bounded by MAX_PIXELS x 4 bytes (1 GB), except JPEG, which is
# DCT-scaled while decoding and never exceeds the work size.
MAX_WORK_PIXELS = 64_000_000
HASH_DRAFT = 256  # draft-decode (JPEG DCT scaling) so both sides are at least this many pixels:
# pHash is computed on 32x32, so a 12 MP JPEG gives the same hash at 1/8 scale, 10x cheaper
THUMB_SIZE = 256
THUMB_QUALITY = 82

# face_recognition sets ImageFile.LOAD_TRUNCATED_IMAGES = True at import, process-wide.
# A forensic tool must notice truncated files, so every load goes through _load() below,
# which loads strictly first and only then, knowingly, recovers the partial pixels.
ImageFile.LOAD_TRUNCATED_IMAGES = False
_LOAD_LOCK = threading.Lock()


class ImageDecodeError(Exception):
    """The file could not be decoded as an image. `flag` names the failure for the record."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(message)
        self.flag = flag


@dataclass
class DecodedImage:
    image: Image.Image  # RGB, EXIF orientation applied, alpha flattened on white
    width: int  # pixel size stored in the file (before orientation)
    height: int
    format: str
    orientation: int
    flags: list[str] = field(default_factory=list)
    frames: int = 1
    scale: float = 1.0  # stored pixels per pixel of `image` (> 1 when a huge image was reduced)


def _load(im: Image.Image, accept_truncated: bool) -> None:
    """Load pixels with Pillow's process-wide truncation switch set as we say, not as
    whichever library last touched it left it."""
    with _LOAD_LOCK:
        prev = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = accept_truncated
        try:
            im.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = prev


def _is_truncation(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("truncated", "broken data stream", "unexpected end", "premature end"))


def flatten(im: Image.Image) -> Image.Image:
    """RGB with any transparency composited on white, the same way every time."""
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        bg.alpha_composite(rgba)
        return bg.convert("RGB")
    if im.mode == "I;16" or im.mode == "I":
        return im.point(lambda v: v * (1 / 256)).convert("RGB") if im.mode == "I" else im.convert("RGB")
    return im.convert("RGB") if im.mode != "RGB" else im


def _open(data: bytes, draft: int | None) -> tuple[Image.Image, list[str], int, int, str, int, int]:
    flags: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # pragma: no cover - MAX_IMAGE_PIXELS is None
        raise ImageDecodeError("decompression_bomb", error_message(exc)) from exc
    except Exception as exc:
        raise ImageDecodeError("undecodable", f"not a decodable image: {error_message(exc)}") from exc
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise ImageDecodeError(
            "decompression_bomb",
            f"{width}x{height} = {width * height:,} pixels exceeds the {MAX_PIXELS:,} pixel limit; not decoded",
        )
    fmt = im.format or ""
    frames = 1
    if getattr(im, "is_animated", False):
        flags.append("animated")
        frames = getattr(im, "n_frames", 1) if fmt != "GIF" or len(data) < (8 << 20) else -1
    try:
        orientation = int(im.getexif().get(0x0112, 1) or 1)
    except Exception:
        orientation = 1
        flags.append("exif_unreadable")
    if fmt == "JPEG":
        if draft:
            im.draft("RGB", (draft, draft))
        elif width * height > MAX_WORK_PIXELS:
            f = math.sqrt(width * height / MAX_WORK_PIXELS)
            im.draft("RGB", (math.ceil(width / f), math.ceil(height / f)))
    return im, flags, width, height, fmt, orientation, frames


def _bounded(im: Image.Image, max_pixels: int) -> Image.Image:
    """`im` reduced by a whole factor to at most `max_pixels` (box filter, one pass)."""
    w, h = im.size
    if w * h <= max_pixels:
        return im
    factor = math.ceil(math.sqrt(w * h / max_pixels))
    while math.ceil(w / factor) * math.ceil(h / factor) > max_pixels:
        factor += 1
    if im.mode not in ("L", "LA", "RGB", "RGBA", "I", "F", "I;16"):
        im = im.convert("RGBA" if "transparency" in im.info or im.mode.endswith("A") else "RGB")
    return im.reduce(factor)


def open_image(data: bytes, draft: int | None = HASH_DRAFT) -> DecodedImage:
    """Decode image bytes: strict load (truncation is flagged, partial pixels kept),
    draft reduction for JPEG when `draft` is given, EXIF orientation, alpha flattened.
    The result never has more than MAX_WORK_PIXELS pixels (`scale` says by how much a
    huge image was reduced)."""
    im, flags, width, height, fmt, orientation, frames = _open(data, draft)
    try:
        _load(im, accept_truncated=False)
    except Exception as exc:
        if not _is_truncation(exc):
            raise ImageDecodeError("undecodable", f"image data is corrupt: {error_message(exc)}") from exc
        flags.append("truncated")
        im, _, *_ = _open(data, draft)
        try:
            _load(im, accept_truncated=True)
        except Exception as exc2:
            raise ImageDecodeError("truncated", f"image file is truncated and no pixels decode: {exc2}") from exc2
    im = _bounded(im, MAX_WORK_PIXELS)
    scale = width / im.size[0] if im.size[0] else 1.0
    try:
        im = ImageOps.exif_transpose(im) if orientation != 1 else im
    except Exception:
        flags.append("orientation_failed")
    rgb = flatten(im)
    return DecodedImage(rgb, width, height, fmt, orientation, flags, frames, scale)


def open_image_file(path: str, draft: int | None = HASH_DRAFT) -> DecodedImage:
    """Decode an image file opened read-only (query photos, re-decodes of evidence)."""
    with open(path, "rb") as f:
        return open_image(f.read(), draft)


def thumbnail_jpeg(im: Image.Image, size: int = THUMB_SIZE) -> bytes:
    """A JPEG thumbnail (long side `size`) of an already decoded RGB image."""
    # reduce() first: copying a large picture whole only to shrink it doubles its memory
    k = min(im.size) // (2 * size)
    t = im.reduce(k) if k >= 2 else im.copy()
    t.thumbnail((size, size), Image.Resampling.LANCZOS if max(im.size) < 4 * size else Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    t.save(buf, "JPEG", quality=THUMB_QUALITY, optimize=False)
    return buf.getvalue()
