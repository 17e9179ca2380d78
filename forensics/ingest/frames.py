"""What ingest keeps of a sampled video frame besides its faces: perceptual hashes, the
blank flag and the thumbnail, all from one reduction of the frame.

A 720p frame's pHash and dHash each resize the whole picture with a Lanczos kernel, the
blank test and the thumbnail resize it again: about 14 ms a frame, more than decoding it.
Here the frame is box-reduced once by a whole factor to about 180 px on its short side
(the size a 256 px thumbnail needs) and everything is computed from that copy, about
2 ms. The hashes then differ from those of the full-size frame by at most 2-3 of 64
bits (mean 0.1-0.3 measured on 720p and 360p footage, like a JPEG re-save), far inside
what copy search matches, so a still exported from the video still finds its frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHORT_SIDE = 180  # the reduced copy's short side is at least this (256 px thumbnails need no more)


@dataclass(frozen=True)
class FrameSummary:
    phash: int
    dhash: int
    blank: bool
    thumb: bytes | None


def reduction(width: int, height: int) -> int:
    """The whole factor a frame is box-reduced by before hashing (1 for small frames)."""
    return max(1, min(width, height) // SHORT_SIDE)


def summarise_frame(rgb: np.ndarray, thumbnail: bool = True) -> FrameSummary:
    """pHash, dHash, blank flag and (with `thumbnail`) the JPEG thumbnail of an
    H x W x 3 uint8 frame, from one reduced copy of it."""
    from PIL import Image

    from forensics.hashing.perceptual import gray_hashes, is_blank
    from forensics.media.image import thumbnail_jpeg

    im = Image.fromarray(rgb)
    k = reduction(im.width, im.height)
    small = im.reduce(k) if k > 1 else im
    grey = small.convert("L")
    p, d = gray_hashes(grey)
    return FrameSummary(p, d, is_blank(grey), thumbnail_jpeg(small) if thumbnail else None)
