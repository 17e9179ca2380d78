"""Probe hashes of a case in memory, and the exact scans that use them in search by image.

forensics.hashing.windows gives every image 19 probe hashes (trimmed picture, 8 side and
corner windows, the middle upright and turned +/-7 degrees, 7 turned orientations). Search
compares, exactly and over every stored item:

1. the query's own hash in 8 orientations with the stored own hashes (as before);
2. the query's trimmed and window probes with the stored own hashes: the stored item is
   a crop of the query, or the query is a framed copy;
3. the query's own hash (8 orientations), trimmed and window probes with the stored
   trimmed probes of framed items: the stored item is a framed copy of the query;
4. the query's own and trimmed hashes with the stored window probes: the query is a crop
   of the stored item;
5. the query's middle probes (upright, +/-7 degrees, and for search only +/-3.5 and
   +/-10.5) with the stored middle probes: one of them is turned a few degrees.

Large stored arrays are searched through chunk indexes (forensics.copies.chunk_index),
which find exactly what the linear scan finds without reading every stored hash.

Small arrays are scanned with the exact XOR/popcount pass of forensics.copies.matrix;
bench/copies_scale.py measures both ways.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from forensics.copies.matrix import HashMatrix, ScanHit, as_u64, finish, scan_arrays
from forensics.copies.rule import CopyRule
from forensics.hashing import windows as W

_FETCH = 100_000


@dataclass
class Probes:
    """Slot-major probe hashes aligned with a HashMatrix's rows: p[k], d[k] are the pHash
    and dHash of slot k for every row (0 where an item has no probes: a real pHash has 32
    bits set, so 0 is 32 bits from everything and never matches)."""

    p: np.ndarray  # (N_SLOTS, n) uint64
    d: np.ndarray
    has: np.ndarray  # (n,) bool
    framed: np.ndarray  # rows whose trimmed probe differs from their own hash

    @classmethod
    def empty(cls, n: int) -> "Probes":
        z = np.zeros((W.N_SLOTS, n), np.uint64)
        return cls(z, z.copy(), np.zeros(n, bool), np.zeros(0, np.int64))

    @classmethod
    def attach(cls, conn: sqlite3.Connection, m: HashMatrix) -> HashMatrix:
        """Load the probes of the matrix's items onto it (m.probes) and return it."""
        m.probes = cls.load(conn, m.ids)
        m.probes.attach_framed(m)
        return m

    @classmethod
    def load(cls, conn: sqlite3.Connection, ids: np.ndarray) -> "Probes":
        out = cls.empty(len(ids))
        if not len(ids):
            return out
        cur = conn.execute("SELECT item_id, hashes FROM item_probes ORDER BY item_id")
        width = W.N_SLOTS * 16
        while True:
            rows = cur.fetchmany(_FETCH)
            if not rows:
                break
            item_ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
            blobs = [r[1] for r in rows]
            ok = np.fromiter((len(b) == width for b in blobs), bool, len(rows))
            pos = np.searchsorted(ids, item_ids)
            pos_ok = (pos < len(ids)) & ok
            pos_ok[pos_ok] = ids[pos[pos_ok]] == item_ids[pos_ok]
            if not pos_ok.any():
                continue
            arr = np.frombuffer(b"".join(b for b, k in zip(blobs, pos_ok) if k), dtype="<u8").reshape(-1, W.N_SLOTS, 2)
            r = pos[pos_ok]
            out.p[:, r] = arr[:, :, 0].T
            out.d[:, r] = arr[:, :, 1].T
            out.has[r] = True
        return out

    def attach_framed(self, m: HashMatrix) -> None:
        """Note which rows have a border (their trimmed probe is not their own hash), and
        keep those trimmed hashes packed for the scan."""
        self.framed = np.flatnonzero(self.has & ((self.p[W.TRIM] != m.phash) | (self.d[W.TRIM] != m.dhash)))
        self.framed_p = np.ascontiguousarray(self.p[W.TRIM][self.framed])
        self.framed_d = np.ascontiguousarray(self.d[W.TRIM][self.framed])


def scan_all(m: HashMatrix, q_phash: np.ndarray, q_dhash: np.ndarray, q_probes: np.ndarray | None,
             rule: CopyRule, threads: int = 2, index: bool | None = None) -> list[ScanHit]:
    """Every stored item that a query hash pairs with under `rule` in one of the five ways
    of the module docstring; one hit per item (the nearest), its `variant` the query
    orientation (0 for probe matches) and `via` how it was found. Large stored arrays are
    searched through chunk indexes (exact_scan); `index` forces them on or off."""
    best: dict[int, ScanHit] = {}

    def take(rows: np.ndarray, variant: np.ndarray | int, dp: np.ndarray, dd: np.ndarray, via: str) -> None:
        var = np.broadcast_to(np.asarray(variant), rows.shape)
        for r, v, a, b in zip(rows.tolist(), var.tolist(), dp.tolist(), dd.tolist()):
            old = best.get(r)
            if old is None or a + b < old.d_phash + old.d_dhash:
                best[r] = ScanHit(r, int(m.ids[r]), a, b, v, via)

    qp = np.asarray(q_phash, dtype=np.int64).view(np.uint64)
    qd = np.asarray(q_dhash, dtype=np.int64).view(np.uint64)
    pr = m.probes
    if q_probes is None or pr is None or len(m) == 0:
        rows, var, dp, dd = exact_scan(m, "own", m.phash, m.dhash, qp, qd, rule, threads, index)
        take(rows, var, dp, dd, "whole")
        return [best[r] for r in sorted(best)]
    # One pass over the stored own hashes with the query's orientations, its trimmed
    # picture (when framed) and its 8 windows: the memory is read once for all of them.
    framed_q = q_probes[W.TRIM, 0] != qp[0] or q_probes[W.TRIM, 1] != qd[0]
    lo = W.TRIM if framed_q else W.WIN0
    allp = np.concatenate([qp, q_probes[lo:W.WIN1, 0]])
    alld = np.concatenate([qd, q_probes[lo:W.WIN1, 1]])
    rows, var, dp, dd = exact_scan(m, "own", m.phash, m.dhash, allp, alld, rule, threads, index)
    turned = var < len(qp)
    take(rows[turned], var[turned], dp[turned], dd[turned], "whole")
    take(rows[~turned], 0, dp[~turned], dd[~turned], "window")
    if len(pr.framed):
        fp, fd = pr.framed_p, pr.framed_d
        # The query's windows too: where a frame's colour runs into the picture, the stored
        # trimmed picture is cut a little on that side, like a one-side crop of the query.
        tp = np.concatenate([qp, q_probes[W.TRIM:W.WIN1, 0]])
        td = np.concatenate([qd, q_probes[W.TRIM:W.WIN1, 1]])
        rows, var, dp, dd = exact_scan(m, "framed", fp, fd, tp, td, rule, threads, index)
        take(pr.framed[rows], np.where(var < len(qp), var, 0), dp, dd, "trimmed")
    gp = np.array([qp[0], q_probes[W.TRIM, 0]] if framed_q else [qp[0]], np.uint64)
    gd = np.array([qd[0], q_probes[W.TRIM, 1]] if framed_q else [qd[0]], np.uint64)
    # The 8 window slots as one slot-major array: row k * n + i is slot WIN0 + k of item i,
    # so ascending rows visit the slots in order, as one scan per slot would.
    n = len(m)
    wp, wd = pr.p[W.WIN0:W.WIN1].reshape(-1), pr.d[W.WIN0:W.WIN1].reshape(-1)
    rows, _, dp, dd = exact_scan(m, "windows", wp, wd, gp, gd, rule, threads, index)
    take(rows % n, 0, dp, dd, "window")
    # The query's middles, upright, turned +/-7 degrees and (rows past N_SLOTS, search
    # only) turned by forensics.hashing.windows.QUERY_ROTATIONS.
    cq = np.concatenate([q_probes[W.CENTRE:W.ROT1], q_probes[W.N_SLOTS:]])
    rows, _, dp, dd = exact_scan(m, "centre", pr.p[W.CENTRE], pr.d[W.CENTRE], cq[:, 0], cq[:, 1], rule, threads, index)
    take(rows, 0, dp, dd, "centre")
    return [best[r] for r in sorted(best)]


def exact_scan(m: HashMatrix, name: str, p: np.ndarray, d: np.ndarray, qp, qd, rule: CopyRule,
               threads: int = 2, index: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scan_arrays' result for stored arrays p, d, found through the chunk index of p
    (forensics.copies.chunk_index, built on first use and kept on `m` under `name`) when
    the array is large enough for it to pay, else by the linear scan. `index` forces
    one or the other (tests)."""
    from forensics.copies import chunk_index as C

    qp, qd = as_u64(qp), as_u64(qd)
    use = C.usable(len(p), rule.phash_bound) if index is None else index
    if not use or len(qp) == 0:
        return scan_arrays(p, d, qp, qd, rule, threads)
    cand = C.index_for(m, name, p).candidates(qp, rule.phash_bound, threads)
    return finish(p, d, cand, qp, qd, rule)
