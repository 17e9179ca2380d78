"""Case-wide copy grouping without an index that can miss.

Visual candidates are every pair of items whose pHash and dHash satisfy the copy rule,
found by an exact all-pairs join (forensics.copies.mih_kernels.pairs_within: a compiled,
vectorised XOR/popcount over blocks, ~0.3 ns a pair, so 1M hashes take a few minutes on
2 cores; bench/copies_grouping.py). Earlier versions proposed candidates with an hnswlib
graph over +/-1 bit vectors plus bit-sampling buckets (IndexParams(method="hnsw"), kept
as the benchmark's baseline): greedy graph search on near-uniform bit vectors leaves ~1.5 %
of copies unreachable, and building the graph was the slowest step. Binary copies (same
SHA-256) are joined as well, and the connected components of all confirmed pairs are the
copy groups.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from forensics.copies.matrix import HashMatrix
from forensics.copies.rule import CopyRule
from forensics.model import Cancelled

BATCH = 50_000


@dataclass(frozen=True)
class IndexParams:
    """How whole-picture candidate pairs are found. method "exact" (the default) joins all
    pairs exactly and ignores the rest; "hnsw" is the previous approximate method, kept as
    the baseline of bench/copies_grouping.py, with these hnswlib parameters:

    k neighbours per hash is plenty: members of a larger group are
    joined transitively through their own neighbours.

    Measured with bench/copies_grouping.py (docs/benchmarks.md): on random-like +/-1 bit
    vectors the graph alone found 98.5 % of planted copies among 1M hashes, with ef 64 or
    128 and ef_construction 40 or 80 alike (near-uniform data leaves some copies
    unreachable by greedy search). `lsh_tables` adds a second, independent candidate source
    (bit-sampling buckets, see bucket_pairs) that catches them; the cheaper graph
    (ef_construction 40) is then enough."""

    method: str = "exact"  # "exact": all-pairs join; "hnsw": graph + buckets (the old way)
    k: int = 12
    m: int = 16
    ef_construction: int = 40
    ef: int = 64
    lsh_tables: int = 80
    lsh_bits: int = 24
    threads: int = 0  # 0 = all cores

    def as_dict(self) -> dict:
        if self.method == "exact":
            return {"method": "exact"}
        return {"method": self.method, "k": self.k, "M": self.m, "ef_construction": self.ef_construction, "ef": self.ef,
                "lsh_tables": self.lsh_tables, "lsh_bits": self.lsh_bits}


def bits_pm1(phash: np.ndarray, dhash: np.ndarray) -> np.ndarray:
    """(n, 128) float32 of +1/-1, one column per bit of pHash then dHash."""
    both = np.stack([np.ascontiguousarray(phash).view(np.uint64), np.ascontiguousarray(dhash).view(np.uint64)], axis=1)
    bits = np.unpackbits(both.view(np.uint8), axis=1)
    return bits.astype(np.float32) * 2.0 - 1.0


def visual_pairs(m: HashMatrix, rule: CopyRule, params: IndexParams = IndexParams(),
                 progress: Callable[[str, int, int], None] | None = None,
                 cancel: threading.Event | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Confirmed visual-copy pairs as two arrays of matrix rows (i < j)."""
    n = len(m)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if params.method == "exact":
        a, b = exact_pairs(m.phash, m.dhash, rule, progress, cancel)
        return confirm(m, a, b, rule)
    import hnswlib

    threads = params.threads or -1
    index = hnswlib.Index(space="l2", dim=128)
    index.init_index(max_elements=n, ef_construction=params.ef_construction, M=params.m, random_seed=1)
    index.set_num_threads(threads if threads > 0 else _cores())
    for s in range(0, n, BATCH):
        if cancel is not None and cancel.is_set():
            raise Cancelled("copy grouping cancelled while indexing")
        e = min(n, s + BATCH)
        index.add_items(bits_pm1(m.phash[s:e], m.dhash[s:e]), np.arange(s, e))
        if progress:
            progress("index", e, n)
    index.set_ef(max(params.ef, params.k + 1))
    k = min(params.k + 1, n)
    src_all, dst_all = [], []
    for s in range(0, n, BATCH):
        if cancel is not None and cancel.is_set():
            raise Cancelled("copy grouping cancelled while searching")
        e = min(n, s + BATCH)
        labels, dist = index.knn_query(bits_pm1(m.phash[s:e], m.dhash[s:e]), k=k)
        # Squared L2 / 4 is the summed Hamming distance: drop what cannot pass the rule.
        near = dist <= 4 * rule.combined_bound + 0.5
        src = np.repeat(np.arange(s, e), k).reshape(e - s, k)[near]
        dst = labels.astype(np.int64)[near]
        keep = src != dst
        src_all.append(src[keep])
        dst_all.append(dst[keep])
        if progress:
            progress("search", e, n)
    if params.lsh_tables:
        if cancel is not None and cancel.is_set():
            raise Cancelled("copy grouping cancelled while bucketing")
        ba, bb = bucket_pairs(m, params.lsh_tables, params.lsh_bits)
        src_all.append(ba)
        dst_all.append(bb)
        if progress:
            progress("buckets", n, n)
    src = np.concatenate(src_all)
    dst = np.concatenate(dst_all)
    a, b = np.minimum(src, dst), np.maximum(src, dst)
    if len(a):
        pair = np.unique(a * n + b)
        a, b = pair // n, pair % n
    return confirm(m, a, b, rule)


def exact_pairs(phash: np.ndarray, dhash: np.ndarray, rule: CopyRule,
                progress: Callable[[str, int, int], None] | None = None,
                cancel: threading.Event | None = None, threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of rows (i < j) whose hashes satisfy `rule`, by the exact all-pairs join.
    Rows are cut into slices of equal work (row i meets the n - i - 1 rows after it), run
    on `threads` threads (the kernel releases the GIL)."""
    from forensics.copies import mih_kernels as K
    from forensics.copies.matrix import _pool

    p = np.ascontiguousarray(phash).view(np.uint64)
    d = np.ascontiguousarray(dhash).view(np.uint64)
    n = len(p)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # Slice edges at equal shares of the n^2/2 pairs: 1 - (1 - x)^2 of them lie before row n*x.
    parts = max(1, min(n // 4, 256))
    edges = np.unique(np.round(n * (1 - np.sqrt(1 - np.arange(parts + 1) / parts))).astype(np.int64))
    slices = list(zip(edges[:-1].tolist(), edges[1:].tolist()))
    done = [0]
    lock = threading.Lock()

    def run(sl: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        if cancel is not None and cancel.is_set():
            raise Cancelled("copy grouping cancelled while pairing")
        out_a = np.empty(1 << 12, np.int64)
        out_b = np.empty(1 << 12, np.int64)
        while (k := K.pairs_within(p, d, sl[0], sl[1], rule.phash_max, rule.dhash_max, rule.sum_max, out_a, out_b)) < 0:
            out_a, out_b = np.empty(2 * len(out_a), np.int64), np.empty(2 * len(out_b), np.int64)
        with lock:
            done[0] += 1
            if progress:
                progress("pairs", done[0], len(slices))
        return out_a[:k].copy(), out_b[:k].copy()

    if threads > 1 and len(slices) > 1:
        res = list(_pool().map(run, slices))
    else:
        res = [run(sl) for sl in slices]
    return np.concatenate([r[0] for r in res]), np.concatenate([r[1] for r in res])


def bucket_pairs(m: HashMatrix, tables: int = 80, bits: int = 24, seed: int = 1,
                 gaps: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs from bit-sampling buckets over the 128 pHash+dHash bits.

    Each table keys every hash by `bits` randomly chosen bit positions (seeded, so runs are
    repeatable); two hashes d bits apart share a key with probability (1 - d/128)^bits,
    about 0.2 for a typical copy (9 bits apart) and 0.04 at 16 bits, and random hashes
    rarely collide on 24 bits. Alone, 80 tables found 99.6 % of the planted copies of
    bench/copies_grouping.py (1M hashes, 13 s); the misses of the graph and of the buckets
    are independent, so together they find more than either. Within a bucket (sorted by key) each member is paired with the next `gaps`
    members only, so a bucket of thousands of identical hashes stays linear; identical
    members are chained into one component anyway."""
    n = len(m)
    rng = np.random.default_rng(seed)
    words = (m.phash, m.dhash)
    one = np.uint64(1)
    key = np.empty(n, np.uint32)
    bit = np.empty(n, np.uint64)
    out_a, out_b = [], []
    for _ in range(tables):
        key.fill(0)
        for j, pos in enumerate(rng.choice(128, size=bits, replace=False)):
            np.right_shift(words[pos // 64], np.uint64(pos % 64), out=bit)
            np.bitwise_and(bit, one, out=bit)
            key |= bit.astype(np.uint32) << np.uint32(j)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        for g in range(1, gaps + 1):
            same = np.flatnonzero(ks[g:] == ks[:-g])
            out_a.append(order[same])
            out_b.append(order[same + g])
    if not out_a:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_a).astype(np.int64), np.concatenate(out_b).astype(np.int64)


def confirm(m: HashMatrix, a: np.ndarray, b: np.ndarray, rule: CopyRule) -> tuple[np.ndarray, np.ndarray]:
    """Keep candidate pairs whose exact distances satisfy the rule, except two frames of
    the same video (a static shot is not a copy of itself)."""
    dp = np.bitwise_count(m.phash[a] ^ m.phash[b])
    dd = np.bitwise_count(m.dhash[a] ^ m.dhash[b])
    same_video = (m.parent[a] != 0) & (m.parent[a] == m.parent[b])
    ok = rule.accepts(dp, dd) & ~same_video
    return a[ok], b[ok]


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of n nodes, given edges a-b."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    return labels


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
