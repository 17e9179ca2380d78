"""Compiled loops behind forensics.copies.chunk_index (numba, cached on disk).

numpy cannot walk thousands of short buckets without building index arrays first, which
costs more than the walk; these loops do it directly. They release the GIL, so two
threads can probe at once. The popcount is LLVM's ctpop (one POPCNT instruction).
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _popcount(typingctx, x):
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@njit(nogil=True, cache=True)
def bucket_sort(values, shift, width_mask, offsets, order, sorted_values):
    """Counting sort of rows by the chunk (values >> shift) & width_mask: offsets[k] ..
    offsets[k + 1] are the positions of key k in `order` (row numbers, ascending within a
    key) and in `sorted_values` (values[row])."""
    s = np.uint64(shift)
    wm = np.uint64(width_mask)
    offsets[:] = 0
    for i in range(len(values)):
        offsets[((values[i] >> s) & wm) + 1] += 1
    for k in range(len(offsets) - 1):
        offsets[k + 1] += offsets[k]
    fill = offsets[:-1].copy()
    for i in range(len(values)):
        k = (values[i] >> s) & wm
        j = fill[k]
        order[j] = i
        sorted_values[j] = values[i]
        fill[k] = j + 1


@njit(nogil=True, cache=True)
def probe(offsets, order, sorted_values, shift, width_mask, masks, q, bound, out):
    """Rows whose value is within `bound` bits of q, among the buckets of every key that
    differs from q's chunk by one of `masks`. Writes rows to `out` and returns how many,
    or -1 when `out` is too small (the caller retries with a larger one).

    A bucket is first tested as a whole (a branch-free loop the compiler vectorises, which
    is what makes buckets of hundreds cheap); only a bucket with a hit is walked again."""
    key = (q >> np.uint64(shift)) & np.uint64(width_mask)
    b = np.uint64(bound)
    k = 0
    cap = len(out)
    for mi in range(len(masks)):
        kk = key ^ masks[mi]
        lo = offsets[kk]
        hi = offsets[kk + 1]
        hit = False
        for j in range(lo, hi):
            hit |= _popcount(sorted_values[j] ^ q) <= b
        if not hit:
            continue
        for j in range(lo, hi):
            if _popcount(sorted_values[j] ^ q) <= b:
                if k == cap:
                    return -1
                out[k] = order[j]
                k += 1
    return k


@njit(nogil=True, cache=True)
def pairs_within(p, d, i0, i1, phash_max, dhash_max, sum_max, out_a, out_b):
    """Every pair (i, j), i0 <= i < i1, i < j < len(p), with pHash distance <= phash_max,
    dHash distance <= dhash_max and their sum <= sum_max: an exact all-pairs join. Four
    rows at a time are compared with a block of the others (each stored hash is loaded
    once for four rows) and the minimum of their pHash distances goes to a small buffer,
    in a loop the compiler vectorises; only the rare positions under the bound are looked
    at again. Returns the number of pairs written, or -1 when out_a/out_b are too small."""
    n = len(p)
    blk = 2048
    cnt = np.empty(blk, np.uint64)
    k = 0
    cap = len(out_a)
    bound = np.uint64(min(phash_max, sum_max))
    for i in range(i0, i1, 4):
        r = min(4, i1 - i)
        a0 = p[i]
        a1 = p[i + 1] if r > 1 else a0
        a2 = p[i + 2] if r > 2 else a0
        a3 = p[i + 3] if r > 3 else a0
        for j0 in range(i + 1, n, blk):
            m = min(blk, n - j0)
            hit = False
            for t in range(m):
                x = p[j0 + t]
                c = min(min(_popcount(x ^ a0), _popcount(x ^ a1)), min(_popcount(x ^ a2), _popcount(x ^ a3)))
                cnt[t] = c
                hit |= c <= bound
            if not hit:
                continue
            for t in range(m):
                if cnt[t] > bound:
                    continue
                j = j0 + t
                for ii in range(i, i + r):
                    if ii >= j:
                        break
                    dp = _popcount(p[ii] ^ p[j])
                    dd = _popcount(d[ii] ^ d[j])
                    if dp <= phash_max and dd <= dhash_max and dp + dd <= sum_max:
                        if k == cap:
                            return -1
                        out_a[k] = ii
                        out_b[k] = j
                        k += 1
    return k
