"""Copy-grouping candidates from probe hashes: the pairs search would find, case-wide.

Search by image compares a query's probes with stored hashes (forensics.copies.probes).
Grouping has no query, so it pairs every item's probes with every other item's *anchors*
(its own hash and, when framed, its trimmed hash), and middle probes with middle probes:

- class "whole": anchors = own hashes + trimmed hashes of framed items; probes = the 8
  window probes and the 7 turned orientations. A cropped copy's own hash is near one of
  its original's windows; a mirrored or 90-degree-turned copy's own hash is near one of
  its original's turned probes; a framed copy's trimmed hash is near its original's own.
- class "middle": anchors = upright middles; probes = middles turned +/-7 degrees.

Candidates come from byte-sampling buckets (like forensics.copies.grouping.bucket_pairs,
but keyed by KEY_BYTES of the 16 bytes of pHash+dHash, which is much cheaper to build than
bit sampling): a probe is paired with the anchors that share its key in any table. Every
candidate is then confirmed exactly under the copy rule.
"""
from __future__ import annotations

import threading

import numpy as np

from forensics.copies.matrix import HashMatrix
from forensics.copies.rule import CopyRule
from forensics.hashing import windows as W
from forensics.model import Cancelled

TABLES = 40
KEY_BYTES = 3
PER_KEY = 4  # anchors paired with each probe per table (identical anchors chain anyway)
NO_TURN = -1


def _layout(m: HashMatrix) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """For each class: (anchor rows, anchor hashes (k, 2)) and (probe rows, probe hashes,
    probe turn index or NO_TURN) ... returned as {class: (a_rows, a_hash, p_rows, p_hash, p_turn)}."""
    pr = m.probes
    n = len(m)
    rows = np.arange(n)
    has = pr.has
    a_rows = np.concatenate([rows, pr.framed])
    a_hash = np.concatenate([np.stack([m.phash, m.dhash], 1), np.stack([pr.p[W.TRIM][pr.framed], pr.d[W.TRIM][pr.framed]], 1)])
    slots = list(range(W.WIN0, W.WIN1)) + list(range(W.TURN0, W.TURN1))
    hr = rows[has]
    p_rows = np.concatenate([hr for _ in slots])
    p_hash = np.concatenate([np.stack([pr.p[k][has], pr.d[k][has]], 1) for k in slots])
    p_turn = np.concatenate([np.full(len(hr), (k - W.TURN0) if k >= W.TURN0 else NO_TURN, np.int8) for k in slots])
    c_rows = hr
    c_hash = np.stack([pr.p[W.CENTRE][has], pr.d[W.CENTRE][has]], 1)
    r_rows = np.concatenate([hr, hr])
    r_hash = np.concatenate([np.stack([pr.p[k][has], pr.d[k][has]], 1) for k in (W.ROT0, W.ROT0 + 1)])
    r_turn = np.full(len(r_rows), NO_TURN, np.int8)
    return {"whole": (a_rows, a_hash, p_rows, p_hash, p_turn), "middle": (c_rows, c_hash, r_rows, r_hash, r_turn)}


def _keys(h: np.ndarray, pick: np.ndarray) -> np.ndarray:
    b = np.ascontiguousarray(h).view(np.uint8).reshape(len(h), 16)
    key = np.zeros(len(h), np.uint32)
    for j, col in enumerate(pick):
        key |= b[:, col].astype(np.uint32) << np.uint32(8 * j)
    return key


def probe_pairs(m: HashMatrix, rule: CopyRule, tables: int = TABLES, seed: int = 7,
                cancel: threading.Event | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confirmed (row_a, row_b, turn) pairs, where row_b's picture is row_a's turned by
    forensics.hashing.windows.TURNS[turn] (NO_TURN: upright). Rows without probes take part
    as anchors only."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8))
    if m.probes is None or not m.probes.has.any() or len(m) < 2:
        return empty
    rng = np.random.default_rng(seed)
    out_a, out_b, out_t = [], [], []
    for a_rows, a_hash, p_rows, p_hash, p_turn in _layout(m).values():
        pairs = []
        # Anchor-anchor pairs (trimmed vs own, middle vs middle) and probe-anchor pairs.
        a_hash_all = a_hash
        for _ in range(tables):
            if cancel is not None and cancel.is_set():
                raise Cancelled("copy grouping cancelled while pairing probes")
            pick = rng.choice(16, size=KEY_BYTES, replace=False)
            ak = _keys(a_hash_all, pick)
            order = np.argsort(ak, kind="stable")
            sk = ak[order]
            same = np.flatnonzero(sk[1:] == sk[:-1])
            pairs.append((order[same], order[same + 1], None))
            pk = _keys(p_hash, pick)
            # A direct count per key first: most probes share no key with any anchor, and
            # a gather from the count table is far cheaper than a binary search each.
            counts = np.bincount(sk, minlength=1 << (8 * KEY_BYTES))
            sel = np.flatnonzero(counts[pk] > 0)
            lo = np.searchsorted(sk, pk[sel], "left")
            hi = lo + counts[pk[sel]]
            for g in range(PER_KEY):
                hit = np.flatnonzero(lo + g < hi)
                pairs.append((sel[hit], order[lo[hit] + g], True))
        for x, y, is_probe in pairs:
            if not len(x):
                continue
            if is_probe:
                hx, ra, turn = p_hash[x], p_rows[x], p_turn[x]
            else:
                hx, ra, turn = a_hash[x], a_rows[x], np.full(len(x), NO_TURN, np.int8)
            hy, rb = a_hash[y], a_rows[y]
            dp = np.bitwise_count(hx[:, 0] ^ hy[:, 0])
            dd = np.bitwise_count(hx[:, 1] ^ hy[:, 1])
            ok = rule.accepts(dp, dd) & (ra != rb)
            ok &= ~((m.parent[ra] != 0) & (m.parent[ra] == m.parent[rb]))
            out_a.append(ra[ok])
            out_b.append(rb[ok])
            out_t.append(turn[ok])
    if not out_a:
        return empty
    a, b, t = np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_t)
    # One candidate per (a, b, turn).
    key = (a * len(m) + b) * 16 + (t.astype(np.int64) + 1)
    _, first = np.unique(key, return_index=True)
    return a[first], b[first], t[first]
