"""Finding plain borders, frames and letterbox bars around a picture.

A re-posted picture is often framed (a border of any colour, wider on one side), padded to
another aspect ratio (letterbox or pillarbox bars) or shown on a plain background (a
screenshot of a viewer). Each side is examined on its own: its outermost line gives the
border colour, and the border runs inward while whole lines stay within BORDER_TOLERANCE of
that colour. Nothing depends on the top-left pixel, so a frame whose corner carries a
watermark, a black bar on top only, or a white frame around a photo with a dark sky are
all found. The picture inside is what is hashed for the "trimmed" probe (see
forensics.hashing.windows), so the original and its framed copy meet.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

BORDER_TOLERANCE = 24  # per channel: JPEG ringing and noise on a plain border stay below this
LINE_FRACTION = 0.97  # share of a line's pixels that must match the border colour
MAX_SIDE = 0.45  # a border never takes more than this share of the width or height per side
MIN_BORDER = 2  # lines (at the analysis size) below which a "border" is just an edge pixel row
ANALYSIS_SIZE = 256  # the image is examined at most at this long side (cheap, and enough for bars)


def _depth(lines: np.ndarray, limit: int) -> int:
    """How many leading lines of `lines` (n, length, 3) are plain in the first line's colour."""
    colour = np.median(lines[0], axis=0)

    def plain(block: np.ndarray) -> np.ndarray:
        return (np.abs(block - colour).max(axis=2) <= BORDER_TOLERANCE).mean(axis=1) >= LINE_FRACTION

    # Most pictures have no border: the outermost line alone says so, without testing the
    # 45 % of the picture a border may take (that was a third of the probes' cost at ingest).
    if not plain(lines[:1])[0]:
        return 0
    close = plain(lines[:limit])
    off = np.flatnonzero(~close)
    return int(off[0]) if len(off) else limit


def border_box(im: Image.Image) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the picture inside plain borders, in `im`'s pixels, or
    None when there is no border (or nothing but border: a blank image)."""
    w, h = im.size
    if w < 8 or h < 8:
        return None
    scale = min(1.0, ANALYSIS_SIZE / max(w, h))
    small = im if scale == 1.0 else im.resize((max(8, round(w * scale)), max(8, round(h * scale))),
                                              Image.Resampling.BILINEAR)
    a = np.asarray(small.convert("RGB"), dtype=np.int16)
    sh, sw = a.shape[:2]
    lim_x, lim_y = max(1, int(sw * MAX_SIDE)), max(1, int(sh * MAX_SIDE))
    top = _depth(a, lim_y)
    bottom = _depth(a[::-1], lim_y)
    left = _depth(a.transpose(1, 0, 2), lim_x)
    right = _depth(a.transpose(1, 0, 2)[::-1], lim_x)
    cut = [v if v >= MIN_BORDER else 0 for v in (left, top, right, bottom)]
    if not any(cut):
        return None
    l, t, r, b = cut
    inner = a[t:sh - b, l:sw - r]
    if inner.size == 0 or float(inner.std()) < 3.0:  # all border: a blank or flat image
        return None
    sx, sy = w / sw, h / sh
    box = (round(l * sx), round(t * sy), w - round(r * sx), h - round(b * sy))
    return box if box[2] - box[0] >= 8 and box[3] - box[1] >= 8 else None


def trim_borders(im: Image.Image) -> Image.Image:
    """The picture without its plain borders; `im` itself when it has none."""
    box = border_box(im)
    return im if box is None else im.crop(box)
