"""All-pairs copy grouping of 1 million synthetic 64-bit hash pairs with planted copies.

Runs the grouping core that `case.copies.group()` uses (forensics.copies.grouping:
hnswlib index over +/-1 bit vectors, squared L2 = 4 x Hamming, k nearest neighbours,
exact confirmation under the copy rule, connected components). The fine-hash check
needs pixels, which synthetic hashes do not have, so it is not part of this figure.

Every item also gets random probe hashes (forensics.hashing.windows: 19 slots), and the
probe stage (forensics.copies.probe_pairs) runs as in `case.copies.group()`.

Planted copies: ORIGINALS random pHash/dHash pairs, each with COPIES copies whose pHash
and dHash each differ from the original in 1-8 random bits; PROBE_COPIES further items
whose own hashes are 1-8 bits (each) off a random window or turned probe of another
original (a cropped, mirrored or rotated copy), and MIDDLE_COPIES whose middle probe is
1-8 bits off another original's +/-7 degree middle probe (a tilted copy). The rest are
random. A planted copy counts as found when it lands in its original's group.

    uv run python bench/copies_grouping.py [--n 1000000] [--originals 10000] [--copies 3]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forensics.copies.grouping import IndexParams, components, visual_pairs  # noqa: E402
from forensics.copies.matrix import HashMatrix  # noqa: E402
from forensics.copies.rule import DEFAULT_RULE  # noqa: E402


def flip_bits(h: np.ndarray, rng: np.random.Generator, lo: int = 1, hi: int = 8) -> np.ndarray:
    """Each hash with lo..hi distinct random bits flipped."""
    out = h.view(np.uint64).copy()
    for i in range(len(out)):
        k = int(rng.integers(lo, hi + 1))
        mask = 0
        for b in rng.choice(64, size=k, replace=False):
            mask |= 1 << int(b)
        out[i] ^= np.uint64(mask)
    return out.view(np.int64)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--originals", type=int, default=10_000)
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--probe-copies", type=int, default=10_000)
    ap.add_argument("--middle-copies", type=int, default=2_000)
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    n, no, nc = args.n, args.originals, args.copies
    p = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
    d = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
    # Rows [0, no) are originals; each copy row is placed at a random free position.
    copy_rows = rng.choice(np.arange(no, n), size=no * nc, replace=False)
    copy_of = np.repeat(np.arange(no), nc)
    p[copy_rows] = flip_bits(p[copy_of], rng)
    d[copy_rows] = flip_bits(d[copy_of], rng)
    from forensics.copies.probes import Probes
    from forensics.hashing import windows as W

    def rand(shape):
        return rng.integers(-(2**63), 2**63 - 1, shape, dtype=np.int64).view(np.uint64)

    probes = Probes(rand((W.N_SLOTS, n)), rand((W.N_SLOTS, n)), np.ones(n, bool), np.zeros(0, np.int64))
    probes.p[W.TRIM], probes.d[W.TRIM] = p.view(np.uint64), d.view(np.uint64)  # no frames: trim = own
    free = np.setdiff1d(np.arange(no, n), copy_rows)
    pick = rng.choice(free, size=2 * (args.probe_copies + args.middle_copies), replace=False)
    np_, nm = args.probe_copies, args.middle_copies
    p_orig, p_copy = pick[:np_], pick[np_:2 * np_]
    m_orig, m_copy = pick[2 * np_:2 * np_ + nm], pick[2 * np_ + nm:]
    slots = rng.choice(list(range(W.WIN0, W.WIN1)) + list(range(W.TURN0, W.TURN1)), size=np_)
    p[p_copy] = flip_bits(probes.p[slots, p_orig].view(np.int64), rng)
    d[p_copy] = flip_bits(probes.d[slots, p_orig].view(np.int64), rng)
    probes.p[W.TRIM][p_copy], probes.d[W.TRIM][p_copy] = p[p_copy].view(np.uint64), d[p_copy].view(np.uint64)
    rot = rng.choice([W.ROT0, W.ROT0 + 1], size=nm)
    probes.p[W.CENTRE][m_copy] = flip_bits(probes.p[rot, m_orig].view(np.int64), rng).view(np.uint64)
    probes.d[W.CENTRE][m_copy] = flip_bits(probes.d[rot, m_orig].view(np.int64), rng).view(np.uint64)
    m = HashMatrix(np.arange(n), p, d)
    m.probes = probes
    probes.attach_framed(m)
    print(f"{n:,} hashes, {no:,} originals with {nc} planted copies each (1-8 bits off in pHash and in dHash)",
          file=sys.stderr)
    t0 = time.perf_counter()
    stages: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        stages[stage] = time.perf_counter() - t0
        if done == total:
            print(f"  {stage} done at {stages[stage]:.0f} s", file=sys.stderr)

    params = IndexParams()
    a, b = visual_pairs(m, DEFAULT_RULE, params, progress)
    t_whole = time.perf_counter() - t0
    from forensics.copies.probe_pairs import probe_pairs

    pa, pb, _ = probe_pairs(m, DEFAULT_RULE)
    t_probes = time.perf_counter() - t0 - t_whole
    print(f"  probe pairs done at {time.perf_counter() - t0:.0f} s ({len(pa):,} confirmed)", file=sys.stderr)
    a, b = np.concatenate([a, pa]), np.concatenate([b, pb])
    labels = components(n, a, b)
    total = time.perf_counter() - t0
    found = int((labels[copy_rows] == labels[copy_of]).sum())
    found_p = int((labels[p_copy] == labels[p_orig]).sum())
    found_m = int((labels[m_copy] == labels[m_orig]).sum())
    sizes = np.bincount(labels)
    grouped = int((sizes[labels] > 1).sum())
    stray = grouped - int(np.isin(np.arange(n), np.concatenate([np.arange(no), copy_rows, pick])).sum())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"grouping {n:,} hashes: {total:.0f} s ({total / 60:.1f} min; index {stages.get('index', 0):.0f} s,"
          f" search+confirm {total - stages.get('index', 0):.0f} s) on {len(os.sched_getaffinity(0))} cores,"
          f" params {params.as_dict()}, rule {DEFAULT_RULE.as_dict()}")
    print(f"stages: whole-picture candidates {t_whole:.0f} s, probe candidates {t_probes:.0f} s")
    print(f"planted probe copies (window/turn) found: {found_p:,} / {np_:,} = {found_p / max(1, np_):.4f};"
          f" middle (tilt) copies found: {found_m:,} / {nm:,} = {found_m / max(1, nm):.4f}")
    print(f"planted copies found: {found:,} / {len(copy_rows):,} = {found / len(copy_rows):.4f};"
          f" confirmed pairs {len(a):,}; items grouped beyond the planted ones: {max(0, stray):,};"
          f" peak RSS {peak:.0f} MiB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
