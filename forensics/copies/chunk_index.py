"""Multi-index hashing: exact Hamming-radius search without reading every stored hash.

Each 64-bit hash is split into disjoint chunks. If two hashes are at most `bound` bits
apart and the chunk radii r_c satisfy sum(r_c + 1) >= bound + 1, then at least one chunk
differs by at most r_c bits (otherwise the chunks alone would differ by bound + 1 or
more): the pigeonhole principle. So every stored hash within `bound` of a query shares a
bucket with one of the query's chunk values flipped in at most r_c bits, and checking the
hashes in those buckets exactly gives the scan's result (tests/core/test_copies_exact.py
checks this on random hashes with planted neighbours at every distance up to the bound).

Two layouts, chosen by the number of stored hashes (layout_for), because a query pays per
bucket looked up (a cache miss each) and per hash in those buckets (a streamed,
vectorised check): for the default rule (pHash <= 16)
- 4 chunks of 16 bits, radii 4, 3, 3, 3: 4,608 look-ups, ~7 % of the hashes checked;
  best up to some tens of millions of hashes;
- 3 chunks of 22, 21, 21 bits, radii 5, 5, 4: 70,886 look-ups, ~2.5 % checked; best for
  the 8 window slots of a large case (80M hashes at 10M items).

Each chunk table is a counting sort of the rows by chunk value: bucket offsets, the rows
in bucket order and a copy of their hashes in the same order (so the exact check streams
memory): 12 bytes a row a chunk plus 4 bytes per bucket. A case keeps its indexes as .npy
files in its index folder and memory-maps them (index_for), rebuilding one only when the
hashes it was built from changed. bench/copies_scale.py measures build time and size.
"""
from __future__ import annotations

import itertools
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

LAYOUTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "4x16": ((16, 16, 16, 16), (48, 32, 16, 0)),  # (widths, shifts)
    "3x21": ((22, 21, 21), (42, 21, 0)),
}
# From this many stored hashes on, the wider chunks' fewer candidates outweigh their
# look-ups. Measured at load ~10, CPU per query hash: 10M hashes 1.9 ms (4x16) vs 3.6 ms
# (3x21); 80M hashes 11 ms (3x21) vs 14.5 ms (4x16 before its bucket test was vectorised;
# after it, estimated from the 10M figure at ~15 ms as candidates grow 8x).
WIDE_FROM = 30_000_000
# Below this many stored hashes a linear scan costs about as much as the look-ups.
MIN_ROWS = 600_000
# Rules so loose that the look-ups would outnumber a scan's work fall back to the scan.
MAX_LOOKUPS = 400_000


def layout_for(n_rows: int) -> str:
    return "3x21" if n_rows >= WIDE_FROM else "4x16"


def radii(bound: int, chunks: int) -> tuple[int, ...]:
    """Per-chunk radii with sum(r + 1) = bound + 1, the larger ones first (on the wider
    chunks: a wider chunk at the same radius lets fewer random hashes through). A radius
    of -1 means the chunk need not be looked up at all."""
    base, extra = divmod(bound + 1, chunks)
    return tuple(base - 1 + (c < extra) for c in range(chunks))


@lru_cache(maxsize=32)
def flip_masks(width: int, radius: int) -> np.ndarray:
    """Every `width`-bit mask with at most `radius` bits set (uint64), in ascending order:
    consecutive masks then share their high bits, so the keys they give (query chunk XOR
    mask) fall near each other in the bucket table, which keeps the look-ups in cache."""
    if radius < 0:
        return np.zeros(0, np.uint64)
    vals = [sum(1 << b for b in bits) for k in range(min(radius, width) + 1)
            for bits in itertools.combinations(range(width), k)]
    return np.sort(np.array(vals, np.uint64))


def lookups(bound: int, layout: str) -> int:
    """Bucket look-ups per query hash under `bound`."""
    from math import comb

    widths = LAYOUTS[layout][0]
    return sum(sum(comb(w, k) for k in range(r + 1)) for w, r in zip(widths, radii(bound, len(widths))))


def usable(n_rows: int, bound: int) -> bool:
    """Whether an index pays off for this many stored hashes and this pHash bound."""
    return n_rows >= MIN_ROWS and 0 <= bound < 64 and lookups(bound, layout_for(n_rows)) <= MAX_LOOKUPS


@dataclass
class _Table:
    shift: int
    width: int
    offsets: np.ndarray  # (2**width + 1,) uint32
    order: np.ndarray  # (n,) uint32 rows in bucket order
    values: np.ndarray  # (n,) uint64 hashes in bucket order


class ChunkIndex:
    """The chunk tables of one array of 64-bit hashes (row i = values[i])."""

    def __init__(self, values: np.ndarray, threads: int = 2, layout: str | None = None) -> None:
        from forensics.copies import mih_kernels as K
        from forensics.copies.matrix import _pool

        values = np.ascontiguousarray(values).view(np.uint64)
        self.n = len(values)
        if self.n >= 1 << 32:
            raise ValueError("chunk index rows are 32-bit")
        self.layout = layout or layout_for(self.n)
        widths, shifts = LAYOUTS[self.layout]

        def build(c: int) -> _Table:
            w = widths[c]
            t = _Table(shifts[c], w, np.empty((1 << w) + 1, np.uint32), np.empty(self.n, np.uint32),
                       np.empty(self.n, np.uint64))
            K.bucket_sort(values, t.shift, (1 << w) - 1, t.offsets, t.order, t.values)
            return t

        chunks = range(len(widths))
        self.tables = list(_pool().map(build, chunks)) if threads > 1 else [build(c) for c in chunks]

    @property
    def nbytes(self) -> int:
        return sum(t.offsets.nbytes + t.order.nbytes + t.values.nbytes for t in self.tables)

    def candidates(self, q: np.ndarray, bound: int, threads: int = 2) -> np.ndarray:
        """Ascending unique rows whose hash is within `bound` bits of any hash in `q`:
        exactly the rows a linear scan would keep."""
        from forensics.copies import mih_kernels as K
        from forensics.copies.matrix import _pool

        q = np.ascontiguousarray(q).view(np.uint64)
        r = radii(bound, len(self.tables))
        tasks = [(int(v), c) for v in q.tolist() for c in range(len(self.tables)) if r[c] >= 0]

        def run(part: list[tuple[int, int]]) -> np.ndarray:
            out = np.empty(1 << 14, np.uint32)
            found = []
            for v, c in part:
                t = self.tables[c]
                masks = flip_masks(t.width, r[c])
                while (k := K.probe(t.offsets, t.order, t.values, t.shift, (1 << t.width) - 1, masks,
                                    np.uint64(v), bound, out)) < 0:
                    out = np.empty(2 * len(out), np.uint32)
                found.append(out[:k].copy())
            return np.concatenate(found) if found else np.zeros(0, np.uint32)

        if threads > 1 and len(tasks) > 1:
            parts = list(_pool().map(run, (tasks[0::2], tasks[1::2])))
        else:
            parts = [run(tasks)]
        return np.unique(np.concatenate(parts)).astype(np.int64)


_LOCK = threading.Lock()
_FIELDS = ("offsets", "order", "values")


def checksum(values: np.ndarray) -> str:
    """A cheap fingerprint of a hash array (length, wrapping sum and XOR of all values):
    a saved index whose fingerprint differs was built from other hashes."""
    v = np.ascontiguousarray(values).view(np.uint64)
    return f"{len(v)}:{int(np.add.reduce(v, dtype=np.uint64))}:{int(np.bitwise_xor.reduce(v)) if len(v) else 0}"


def save(idx: ChunkIndex, folder: Path, name: str, fingerprint: str) -> None:
    """Write the tables as .npy files under folder/name (a manifest last, after the data,
    so a half-written index is never taken for a whole one)."""
    d = folder / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "manifest.json").unlink(missing_ok=True)
    for c, t in enumerate(idx.tables):
        for f in _FIELDS:
            tmp = d / f"{c}.{f}.tmp.npy"
            np.save(tmp, getattr(t, f))
            os.replace(tmp, d / f"{c}.{f}.npy")
    doc = {"fingerprint": fingerprint, "layout": idx.layout, "n": idx.n}
    (d / "manifest.json").write_text(json.dumps(doc))


def load(folder: Path, name: str, fingerprint: str) -> ChunkIndex | None:
    """The saved index under folder/name, memory-mapped, if it was built from hashes with
    this fingerprint and the current layout; else None."""
    d = folder / name
    try:
        doc = json.loads((d / "manifest.json").read_text())
        if doc.get("fingerprint") != fingerprint or doc.get("layout") != layout_for(int(doc["n"])):
            return None
        idx = ChunkIndex.__new__(ChunkIndex)
        idx.n, idx.layout = int(doc["n"]), doc["layout"]
        widths, shifts = LAYOUTS[idx.layout]
        idx.tables = [_Table(shifts[c], widths[c], *(np.load(d / f"{c}.{f}.npy", mmap_mode="r") for f in _FIELDS))
                      for c in range(len(widths))]
        return idx
    except (OSError, ValueError, KeyError):
        return None


def index_for(owner: object, name: str, values: np.ndarray) -> ChunkIndex:
    """The chunk index of `values`, kept on `owner` (a HashMatrix: it lives exactly as long
    as the hashes it indexes). When the owner has an `index_dir` (the case's index folder),
    the index is memory-mapped from there if it was saved for the same hashes, else built
    and saved there, so a case is indexed once and not at every start."""
    with _LOCK:
        cache = owner.__dict__.setdefault("_chunk_indexes", {})
        idx = cache.get(name)
        if idx is not None and idx.n == len(values):
            return idx
        folder = getattr(owner, "index_dir", None)
        idx = None
        if folder is not None:
            fp = checksum(values)
            idx = load(folder, name, fp)
        if idx is None:
            idx = ChunkIndex(values)
            if folder is not None:
                try:
                    save(idx, folder, name, fp)
                except OSError:
                    pass  # a read-only or full case folder: the index still works from memory
        cache[name] = idx
        return idx
