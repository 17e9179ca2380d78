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
    value = int.from_bytes(np.packbits(bits.flatten().astype(bool)).tobytes(), "big")
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


def _dct_rows(n: int = 32, keep: int = 8) -> np.ndarray:
    """The first `keep` rows of the unnormalised DCT-II matrix (scipy.fftpack.dct, type 2)."""
    k = np.arange(keep)[:, None]
    x = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * x + 1) / (2 * n))


_DCT8 = _dct_rows()


def phash_bits(gray: Image.Image) -> np.ndarray:
    """imagehash.phash, bit for bit: 32x32 Lanczos grey, 2-D DCT-II, the 8x8 lowest
    frequencies against their median. Only those 64 coefficients are computed, as two
    small matrix products, so worker processes need not import scipy (0.3 s each)."""
    return phash_of_pixels(np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64))


def phash_of_pixels(pixels: np.ndarray) -> np.ndarray:
    """pHash bits of 32x32 grey pixels already reduced as phash_bits does (so turned
    variants can be taken by turning the 32x32 array instead of the picture)."""
    low = _DCT8 @ pixels @ _DCT8.T
    return low > np.median(low)


def dhash_bits(gray: Image.Image) -> np.ndarray:
    """imagehash.dhash: 9x8 Lanczos grey, each pixel against its right neighbour."""
    pixels = np.asarray(gray.resize((9, 8), Image.Resampling.LANCZOS))
    return pixels[:, 1:] > pixels[:, :-1]


def image_hashes(im: Image.Image) -> dict[str, int]:
    """pHash and dHash (imagehash's algorithms, bit-identical) of an image as signed int64."""
    p, d = gray_hashes(im.convert("L"))
    return {"phash": p, "dhash": d}


def gray_hashes(gray: Image.Image) -> tuple[int, int]:
    """(pHash, dHash) as signed int64 of an already grey ("L") picture."""
    return _bits_to_int64(phash_bits(gray)), _bits_to_int64(dhash_bits(gray))


def is_blank(im: Image.Image) -> bool:
    """True for near-uniform images, whose hashes carry no information."""
    small = np.asarray(im.convert("L").resize((32, 32), Image.Resampling.BILINEAR), dtype=np.float32)
    return float(small.std()) < BLANK_STDDEV
