"""Search by image over 1M and 10M synthetic 64-bit hashes: exact scan with the 8 dihedral
query variants (p50/p95 latency), checked against brute force. Besides wall-clock latency it prints the CPU time per query
(all threads) and the load average, because the 2-core benchmark machine is shared: wall
time under load is not the code's own cost.

    uv run python bench/copies_scale.py [--sizes 1000000 10000000]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forensics.copies.matrix import HashMatrix  # noqa: E402
from forensics.copies.rule import DEFAULT_RULE  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--queries", type=int, default=30)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    for n in args.sizes:
        p = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
        d = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
        m = HashMatrix(np.arange(n), p, d)
        lat, cpu, exact = [], [], True
        m.scan(p[:8], d[:8], DEFAULT_RULE)  # warm the thread pool and the page cache
        for q in range(args.queries):
            qi = rng.integers(0, n, 8)  # 8 "variants": stored hashes, so every query has hits
            qp, qd = p[qi], d[qi]
            t0, c0 = time.perf_counter(), time.process_time()
            hits = m.scan(qp, qd, DEFAULT_RULE)
            lat.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            if q < 3:  # brute force check of exactness
                up, ud = p.view(np.uint64), d.view(np.uint64)
                dp = np.min([np.bitwise_count(up ^ v) for v in qp.view(np.uint64)], axis=0)
                cand = np.flatnonzero(dp <= DEFAULT_RULE.phash_bound)
                ok = [i for i in cand if any(DEFAULT_RULE.accepts(int(np.bitwise_count(up[i] ^ a)), int(np.bitwise_count(ud[i] ^ b)))
                                             for a, b in zip(qp.view(np.uint64), qd.view(np.uint64)))]
                exact &= set(ok) == {h.index for h in hits}
        lat_ms = np.array(lat) * 1000
        print(f"{n:>11,} hashes: p50 {np.median(lat_ms):.1f} ms, p95 {np.percentile(lat_ms, 95):.1f} ms,"
              f" CPU p50 {np.median(cpu) * 1000:.1f} ms (8 variants, rule {DEFAULT_RULE.as_dict()}),"
              f" exact vs brute force: {exact}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
