"""Perceptual hashes (pHash, dHash) as signed 64-bit integers, for SQLite and numpy.

Always computed on an image from forensics.media.image.open_image, so stored and query
hashes come from the same pixels.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

HASH_TYPES = ("phash", "dhash")

# Near-uniform images all hash alike (pHash of a flat image is ~all zeros), so they are
# flagged and never reported as copies of each other.
BLANK_STDDEV = 3.0


def _bits_to_int64(bits: np.ndarray) -> int:
    value = 0
    for b in bits.flatten():
        value = (value << 1) | int(bool(b))
    return value - (1 << 64) if value >= (1 << 63) else value


def to_unsigned(h: int) -> int:
    return h & 0xFFFFFFFFFFFFFFFF


def to_hex(h: int) -> str:
    return f"{to_unsigned(h):016x}"


def from_hex(text: str) -> int:
    v = int(text, 16)
    return v - (1 << 64) if v >= (1 << 63) else v


def hamming(a: int, b: int) -> int:
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()


def image_hashes(im: Image.Image) -> dict[str, int]:
    """pHash and dHash (imagehash's algorithms) of an RGB image as signed int64."""
    import imagehash

    gray = im.convert("L")
    return {
        "phash": _bits_to_int64(imagehash.phash(gray).hash),
        "dhash": _bits_to_int64(imagehash.dhash(gray).hash),
    }


def is_blank(im: Image.Image) -> bool:
    """True for near-uniform images, whose hashes carry no information."""
    small = np.asarray(im.convert("L").resize((32, 32), Image.Resampling.BILINEAR), dtype=np.float32)
    return float(small.std()) < BLANK_STDDEV
