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
    or -1 when `out` is too small (the caller retries with a larger one)."""
    key = (q >> np.uint64(shift)) & np.uint64(width_mask)
    k = 0
    cap = len(out)
    for mi in range(len(masks)):
        kk = key ^ np.uint64(masks[mi])
        lo = offsets[kk]
        hi = offsets[kk + 1]
        for j in range(lo, hi):
            if _popcount(sorted_values[j] ^ q) <= bound:
                if k == cap:
                    return -1
                out[k] = order[j]
                k += 1
    return k
