"""Second-stage check of visual-copy candidates with a finer, border-trimmed hash.

64-bit pHash and dHash cannot tell apart aligned face chips of different people (frontal
faces, same crop, same lighting: bench/copies.py finds pairs of different men at pHash 8,
dHash 8). Candidates that pass the 64-bit rule are therefore confirmed with a 256-bit pHash
(16x16 DCT) computed after trimming plain borders, which separates those faces (different
people >= 80 of 256 bits apart in the benchmark) while keeping recompressed, resized,
cropped, bordered and captioned copies. The fine hash is computed from the same decoded
pixels as ingest (forensics.media.image.open_image) on demand, for candidates only, and
kept in the case (copy_fine_hashes) so each item is decoded for it at most once.

The fine hash is taken twice, of the border-trimmed and of the untrimmed picture, and two
images are as close as the nearer of the two comparisons: deciding "is there a plain
border?" from the top-left pixel is brittle (a grey-scale or recompressed copy of a photo
with a dark background can be trimmed where its original is not), and comparing a trimmed
hash with an untrimmed one moved true copies 80-130 bits apart in bench/copies.py.
"""
from __future__ import annotations

import sqlite3

import numpy as np
from PIL import Image

from forensics.context import CaseContext
from forensics.store.queries import select_in

# Of 256 bits. Chosen with bench/copies.py on half of the originals (docs/benchmarks.md):
# the closest pair of different pictures among 64-bit candidates there was 68 bits apart
# (two photos of one man, aligned face chips), so 64 keeps a 4-bit margin; the other half
# confirms it (closest different pair 68).
FINE_MAX = 64
# Turned and mirrored query variants are 8 chances instead of 1 (and frontal faces are
# nearly mirror-symmetric), so they must agree more closely. True mirrored and rotated
# copies were <= 8 bits apart, different pictures >= 66; 48 leaves room for a turned copy
# that was also recompressed or captioned (text overlays reach 48).
FINE_MAX_VARIANT = 48
WORDS = 8  # uint64 words per stored fine hash: 4 trimmed + 4 untrimmed
# Search only (the query's pixels are at hand): the untrimmed fine hash of the query cut
# by 5 % at 9 offsets, so a cropped copy meets one cut nearly aligned. Chosen on the tuning
# half of bench/copies.py: 5 % crops <= 36 bits from the nearest cut, different pictures
# >= 60; 48 is the midpoint (held-out half: crops <= 44, different pictures >= 60).
FINE_MAX_CROP = 48
CROP = 0.05


def trim_border(im: Image.Image) -> Image.Image:
    """Remove plain borders of any colour, per side, and letterbox bars
    (forensics.hashing.borders)."""
    from forensics.hashing.borders import trim_borders

    return trim_borders(im)


def _phash256(im: Image.Image) -> np.ndarray:
    import imagehash

    bits = imagehash.phash(im.convert("L"), hash_size=16).hash
    return np.packbits(bits.flatten()).view(np.uint64).copy()


def fine_hash(im: Image.Image) -> np.ndarray:
    """256-bit pHash of the border-trimmed image, then of the untrimmed image: 8 uint64."""
    rgb = im.convert("RGB")
    trimmed = trim_border(rgb)
    raw = _phash256(rgb)
    return np.concatenate([raw if trimmed is rgb else _phash256(trimmed), raw])


def crop_hashes(im: Image.Image, frac: float = CROP) -> np.ndarray:
    """(9, 4) uint64: untrimmed 256-bit pHash of the image cut by `frac` of its width and
    height, the cut split left/right and top/bottom as 0/1, 1/2 or 1/0."""
    rgb = im.convert("RGB")
    w, h = rgb.size
    cw, ch = round(w * frac), round(h * frac)
    out = []
    for fx in (0.0, 0.5, 1.0):
        for fy in (0.0, 0.5, 1.0):
            left, top = round(cw * fx), round(ch * fy)
            out.append(_phash256(rgb.crop((left, top, w - (cw - left), h - (ch - top)))))
    return np.stack(out)


def crop_distance(crops: np.ndarray | None, stored: np.ndarray | None) -> int | None:
    """Bits between the nearest query cut and the stored untrimmed fine hash."""
    if crops is None or stored is None:
        return None
    return int(np.bitwise_count(crops ^ stored[None, 4:]).sum(axis=1).min())


def fine_distance(a: np.ndarray | None, b: np.ndarray | None) -> int | None:
    """Bits apart: trimmed vs trimmed or untrimmed vs untrimmed, whichever is nearer."""
    if a is None or b is None:
        return None
    return int(min(np.bitwise_count(a[:4] ^ b[:4]).sum(), np.bitwise_count(a[4:] ^ b[4:]).sum()))


class FineHashes:
    """Fine hashes of case items, computed on first use and stored in copy_fine_hashes."""

    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx

    def get(self, item_ids) -> dict[int, np.ndarray | None]:
        ids = sorted({int(i) for i in item_ids})
        out: dict[int, np.ndarray | None] = {}
        conn = self.ctx.store.read
        for item_id, blob in select_in(conn, "SELECT item_id, fine FROM copy_fine_hashes WHERE item_id IN ({ids})", ids):
            if blob is None:
                out[item_id] = None
            elif len(blob) == WORDS * 8:  # shorter blobs predate the untrimmed half: redo
                out[item_id] = np.frombuffer(blob, dtype=np.uint64).copy()
        missing = [i for i in ids if i not in out]
        if missing:
            computed = {i: self._compute(conn, i) for i in missing}
            with self.ctx.store.write() as w:
                w.executemany("INSERT OR REPLACE INTO copy_fine_hashes (item_id, fine) VALUES (?, ?)",
                              [(i, None if h is None else h.tobytes()) for i, h in computed.items()])
            out.update(computed)
        return out

    def _compute(self, conn: sqlite3.Connection, item_id: int) -> np.ndarray | None:
        """From the item's pixels (forensics.copies.pixels); None when they cannot be
        read, in which case the 64-bit rule alone decides."""
        from forensics.copies.pixels import item_image

        im = item_image(self.ctx, item_id)
        return None if im is None else fine_hash(im)
