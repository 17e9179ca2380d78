"""Case-wide copy grouping without comparing all pairs.

Visual candidates come from an hnswlib index over the hash bits: each bit of pHash and
dHash becomes a +1/-1 float, so the squared L2 distance between two vectors is exactly
4 x (pHash Hamming + dHash Hamming). Each hash's k nearest neighbours are candidates; every
candidate is then confirmed with exact Hamming distances on both hash types under the
copy rule. Binary copies (same SHA-256) are joined as well, and the connected components
of all confirmed pairs are the copy groups.
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
    """hnswlib parameters. k neighbours per hash is plenty: members of a larger group are
    joined transitively through their own neighbours."""

    k: int = 12
    m: int = 16
    ef_construction: int = 80
    ef: int = 64
    threads: int = 0  # 0 = all cores

    def as_dict(self) -> dict:
        return {"k": self.k, "M": self.m, "ef_construction": self.ef_construction, "ef": self.ef}


def bits_pm1(phash: np.ndarray, dhash: np.ndarray) -> np.ndarray:
    """(n, 128) float32 of +1/-1, one column per bit of pHash then dHash."""
    both = np.stack([np.ascontiguousarray(phash).view(np.uint64), np.ascontiguousarray(dhash).view(np.uint64)], axis=1)
    bits = np.unpackbits(both.view(np.uint8), axis=1)
    return bits.astype(np.float32) * 2.0 - 1.0


def visual_pairs(m: HashMatrix, rule: CopyRule, params: IndexParams = IndexParams(),
                 progress: Callable[[str, int, int], None] | None = None,
                 cancel: threading.Event | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Confirmed visual-copy pairs as two arrays of matrix rows (i < j)."""
    import hnswlib

    n = len(m)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
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
    src = np.concatenate(src_all)
    dst = np.concatenate(dst_all)
    a, b = np.minimum(src, dst), np.maximum(src, dst)
    if len(a):
        pair = np.unique(a * n + b)
        a, b = pair // n, pair % n
    return confirm(m, a, b, rule)


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
