"""pHash matching of a known-hash set against a case (issue 12): the side that is scanned.

The service scans the smaller side against the packed larger side (one XOR-popcount per
pair, exact). Baseline in the same run: always scanning set entries against the case's
items, the pre-issue-12 loop (which skipped sets over 200,000 pHash entries outright).

    nice -n 10 uv run python bench/hashset_phash_scale.py [items] [entries]
"""
from __future__ import annotations

import sys
import time

import numpy as np

from forensics.copies.matrix import HashMatrix
from forensics.copies.rule import CopyRule


def main() -> None:
    n_items = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    n_entries = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
    rng = np.random.default_rng(1)
    items_ph = rng.integers(-(1 << 63), (1 << 63) - 1, n_items, dtype=np.int64)
    ent_ph = rng.integers(-(1 << 63), (1 << 63) - 1, n_entries, dtype=np.int64)
    ent_ph[::max(1, n_entries // 50)][:min(50, n_items)] = items_ph[:50] ^ 0b1011  # planted matches, 3 bits away
    rule = CopyRule(8, 64, 128)
    items = HashMatrix(np.arange(n_items), items_ph, np.zeros(n_items, np.int64))
    entries = HashMatrix(np.arange(n_entries), ent_ph, np.zeros(n_entries, np.int64))
    t = time.perf_counter()
    hits_new = sum(len(entries.scan(np.array([p]), np.array([0]), rule)) for p in items_ph)
    t_new = time.perf_counter() - t
    sample = min(n_entries, 20_000)  # the baseline loop is extrapolated from a sample of entries
    t = time.perf_counter()
    for p in ent_ph[:sample]:
        items.scan(np.array([p]), np.array([0]), rule, threads=1)
    t_base = (time.perf_counter() - t) * n_entries / sample
    print(f"items {n_items:,}  entries {n_entries:,}  matches {hits_new}")
    print(f"smaller side scanned (this issue): {t_new:8.2f} s   ({t_new / (n_items * n_entries) * 1e9:.2f} ns/pair)")
    print(f"entries scanned per item matrix : {t_base:8.2f} s   (baseline, extrapolated from {sample:,} entries)")


if __name__ == "__main__":
    main()
