"""Hashing a query image exactly as ingest does, in all eight dihedral orientations.

pHash and dHash are not invariant to mirroring or rotation, so a mirrored or rotated copy
is found by hashing the query turned the same way. The pixels come from
forensics.media.image.open_image (the ingest decode path: same draft size, orientation and
alpha flattening), so the identity variant reproduces the stored hash bit for bit.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from forensics.hashing.perceptual import gray_hashes, is_blank
from forensics.media.image import open_image

T = Image.Transpose
# (name, transform applied to the query). "rot90" turns 90 degrees counter-clockwise, as
# PIL does; a stored copy found through "rot90" is the query turned that way.
DIHEDRAL: tuple[tuple[str, T | None], ...] = (
    ("identity", None),
    ("mirror", T.FLIP_LEFT_RIGHT),
    ("rot90", T.ROTATE_90),
    ("rot180", T.ROTATE_180),
    ("rot270", T.ROTATE_270),
    ("flip", T.FLIP_TOP_BOTTOM),
    ("transpose", T.TRANSPOSE),
    ("transverse", T.TRANSVERSE),
)
VARIANT_NAMES = tuple(name for name, _ in DIHEDRAL)


@dataclass(frozen=True)
class QueryHashes:
    """The hashes of a query in each orientation (index i = VARIANT_NAMES[i])."""

    phash: tuple[int, ...]
    dhash: tuple[int, ...]
    blank: bool
    sha256: str | None = None
    variants: tuple[str, ...] = VARIANT_NAMES
    image: Image.Image | None = field(default=None, compare=False, repr=False)
    # forensics.hashing.windows: the N_SLOTS probes, then the query-only turned middles.
    probes: np.ndarray | None = field(default=None, compare=False, repr=False)

    def oriented(self, variant: int) -> Image.Image | None:
        """The query pixels turned as variant `variant` (None without pixels)."""
        if self.image is None:
            return None
        tr = DIHEDRAL[variant][1]
        return self.image if tr is None else self.image.transpose(tr)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.phash, dtype=np.int64), np.array(self.dhash, dtype=np.int64)


def hashes_of_image(im: Image.Image, dihedral: bool = True, sha256: str | None = None) -> QueryHashes:
    """pHash/dHash of an already decoded RGB image in every orientation."""
    ph, dh = [], []
    # Grey conversion is per pixel, so turning the grey picture gives the same pixels as
    # converting the turned one (image_hashes): bit-identical hashes, one conversion.
    gray = im.convert("L")
    for _, tr in (DIHEDRAL if dihedral else DIHEDRAL[:1]):
        g = gray if tr is None else gray.transpose(tr)
        h = gray_hashes(g)
        ph.append(h[0])
        dh.append(h[1])
    names = VARIANT_NAMES if dihedral else VARIANT_NAMES[:1]
    probes = None
    if dihedral:
        from forensics.hashing.windows import probe_hashes

        from forensics.hashing.windows import query_middles

        # Rows past N_SLOTS: the query-only turned middles (forensics.copies.probes.scan_all).
        probes = np.concatenate([probe_hashes(im, (ph[0], dh[0])), query_middles(im)])
    return QueryHashes(tuple(ph), tuple(dh), is_blank(im), sha256, names, im, probes)


def hashes_of_bytes(data: bytes, dihedral: bool = True) -> QueryHashes:
    """Decode with the ingest pipeline, then hash every orientation.

    Raises forensics.media.image.ImageDecodeError for data that is not an image."""
    decoded = open_image(data)
    return hashes_of_image(decoded.image, dihedral, hashlib.sha256(data).hexdigest())
