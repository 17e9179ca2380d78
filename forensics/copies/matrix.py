"""Packed perceptual hashes of a case in memory, and the exact scan behind search by image.

Every stored pHash/dHash sits in two uint64 numpy arrays. A query XORs them with the query
hash and counts bits (numpy.bitwise_count): exact, never misses, and at 10 million hashes
faster than an approximate index. The scan runs in cache-sized chunks with preallocated
buffers and takes the minimum over all dihedral variants of the query while a chunk is in
cache, so memory is read once per query instead of once per variant; the two halves of
the array run on two threads (numpy ufuncs release the GIL). On the benchmark machine
this is about 4.7 ns of CPU per stored hash for 8 variants (bench/copies_scale.py).
"""
from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from forensics.copies.rule import CopyRule

CHUNK = 1 << 15  # 32 Ki hashes = 256 KiB per array: stays in L2 while the variants run
_FETCH = 200_000
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    # One long-lived pair of threads: creating a pool per query costs more than a 1M scan.
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(2, thread_name_prefix="hash-scan")
    return _POOL


@dataclass(frozen=True)
class ScanHit:
    """One stored hash within the rule of the best-matching query variant."""

    index: int  # row in the matrix
    item_id: int
    d_phash: int
    d_dhash: int
    variant: int  # index into the query variants
    via: str = "whole"  # how it was found (forensics.copies.probes.scan_all)


class HashMatrix:
    """Item ids with their pHash and dHash as uint64, blank items left out."""

    def __init__(self, ids: np.ndarray, phash: np.ndarray, dhash: np.ndarray,
                 parent: np.ndarray | None = None) -> None:
        self.ids = np.ascontiguousarray(ids, dtype=np.int64)
        self.phash = np.ascontiguousarray(phash).view(np.uint64)
        self.dhash = np.ascontiguousarray(dhash).view(np.uint64)
        # Frames carry their video's id here (0 for files): frames of one video are not
        # reported as copies of each other.
        self.parent = np.zeros(len(self.ids), np.int64) if parent is None else np.ascontiguousarray(parent, np.int64)
        # Probe hashes (forensics.copies.probes.Probes.attach); None = not loaded.
        self.probes = None
        # The case's index folder, where forensics.copies.chunk_index keeps its tables
        # (None: built in memory only).
        self.index_dir = None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> "HashMatrix":
        cur = conn.execute(
            "SELECT id, phash, COALESCE(dhash, 0), COALESCE(parent_id, 0) FROM items"
            " WHERE phash IS NOT NULL AND blank = 0 AND kind IN ('image', 'frame') ORDER BY id")
        parts = []
        while True:
            rows = cur.fetchmany(_FETCH)
            if not rows:
                break
            parts.append(np.array(rows, dtype=np.int64))
        if not parts:
            empty = np.zeros(0, np.int64)
            return cls(empty, empty, empty, empty)
        a = np.concatenate(parts)
        return cls(a[:, 0], a[:, 1], a[:, 2], a[:, 3])

    def scan(self, q_phash: np.ndarray, q_dhash: np.ndarray, rule: CopyRule, threads: int = 2) -> list[ScanHit]:
        """Exact search: every stored item whose best query variant satisfies `rule`.

        q_phash/q_dhash hold one hash per query variant (signed or unsigned 64-bit)."""
        rows, best, dp, dd = scan_arrays(self.phash, self.dhash, q_phash, q_dhash, rule, threads)
        return [ScanHit(int(r), int(self.ids[r]), int(a), int(b), int(v)) for r, v, a, b in zip(rows, best, dp, dd)]


def scan_arrays(phash: np.ndarray, dhash: np.ndarray, q_phash, q_dhash, rule: CopyRule,
                threads: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact scan of one pair of stored hash arrays: (rows, best query index, d_phash,
    d_dhash) of every row whose nearest query hash satisfies `rule`."""
    qp, qd = as_u64(q_phash), as_u64(q_dhash)
    n = len(phash)
    empty = np.zeros(0, np.int64)
    if n == 0 or len(qp) == 0:
        return empty, empty, empty, empty
    bound = rule.phash_bound
    starts = list(range(0, n, CHUNK))
    # Two halves on two threads: numpy ufuncs release the GIL.
    if threads > 1 and n >= 4 * CHUNK:
        half = (len(starts) + 1) // 2
        parts = list(_pool().map(lambda ss: _prefilter(phash, ss, qp, bound), (starts[:half], starts[half:])))
        cand = np.concatenate(parts)
    else:
        cand = _prefilter(phash, starts, qp, bound)
    return finish(phash, dhash, cand, qp, qd, rule)


def as_u64(h) -> np.ndarray:
    """Hashes given signed or unsigned as a uint64 array (the bits unchanged)."""
    a = np.asarray(h)
    return a.astype(np.uint64) if a.dtype == np.uint64 else np.asarray(h, dtype=np.int64).view(np.uint64)


def finish(phash: np.ndarray, dhash: np.ndarray, cand: np.ndarray, qp: np.ndarray, qd: np.ndarray,
           rule: CopyRule) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The second half of every exact scan: given the ascending rows `cand` whose pHash is
    within rule.phash_bound of some query hash (found by a scan or by
    forensics.copies.chunk_index), (rows, best query index, d_phash, d_dhash) of those
    that satisfy `rule` with their nearest accepted query hash."""
    empty = np.zeros(0, np.int64)
    if len(cand) == 0:
        return empty, empty, empty, empty
    # Exact distances of the few candidates to every variant, both hash types.
    dp = np.bitwise_count(phash[cand][:, None] ^ qp[None, :]).astype(np.int32)
    dd = np.bitwise_count(dhash[cand][:, None] ^ qd[None, :]).astype(np.int32)
    ok = rule.accepts(dp, dd)
    score = np.where(ok, dp + dd, 1 << 20)
    best = score.argmin(axis=1)
    r = np.arange(len(cand))
    keep = ok[r, best]
    return cand[keep], best[keep], dp[r, best][keep], dd[r, best][keep]


def _prefilter(phash: np.ndarray, starts: list[int], qp: np.ndarray, bound: int) -> np.ndarray:
    """Rows among the chunks at `starts` whose pHash is within `bound` of any variant."""
    buf = np.empty(CHUNK, np.uint64)
    cnt = np.empty(CHUNK, np.uint8)
    best = np.empty(CHUNK, np.uint8)
    mask = np.empty(CHUNK, bool)
    out = []
    for s in starts:
        blk = phash[s:s + CHUNK]
        m = len(blk)
        b, c, bb, mk = buf[:m], cnt[:m], best[:m], mask[:m]
        # The first variant writes the running minimum directly (no fill, no extra pass):
        # with one query hash, as in the window scans, that is three passes instead of five.
        np.bitwise_xor(blk, qp[0], out=b)
        np.bitwise_count(b, out=bb)
        for v in qp[1:]:
            np.bitwise_xor(blk, v, out=b)
            np.bitwise_count(b, out=c)
            np.minimum(bb, c, out=bb)
        np.less_equal(bb, bound, out=mk)
        # Hits are rare: any() is ~100x cheaper than flatnonzero on an all-False mask.
        if mk.any():
            out.append(np.flatnonzero(mk) + s)
    return np.concatenate(out) if out else np.zeros(0, np.int64)
