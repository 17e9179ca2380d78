"""All-pairs copy grouping of 1 million synthetic 64-bit hash pairs with planted copies.

Runs the grouping core that `case.copies.group()` uses (forensics.copies.grouping: the
exact all-pairs join under the copy rule, connected components), and as the baseline in
the same run the previous method (hnswlib graph over +/-1 bit vectors + bit-sampling
buckets, IndexParams(method="hnsw")) on a smaller set (--baseline-n; at 1M it takes
longer than this benchmark should). Verification needs pixels, which synthetic hashes do
not have, so it is not part of this figure. Generated hash sets are cached (--cache).

Every item also gets random probe hashes (forensics.hashing.windows: 19 slots), and the
probe stage (forensics.copies.probe_pairs) runs as in `case.copies.group()`.

Planted copies: ORIGINALS random pHash/dHash pairs, each with COPIES copies whose pHash
and dHash each differ from the original in 1-8 random bits; PROBE_COPIES further items
whose own hashes are 1-8 bits (each) off a random window or turned probe of another
original (a cropped, mirrored or rotated copy), and MIDDLE_COPIES whose middle probe is
1-8 bits off another original's +/-7 degree middle probe (a tilted copy). The rest are
random. A planted copy counts as found when it lands in its original's group.

    uv run python bench/copies_grouping.py [--n 1000000] [--originals 10000] [--copies 3]
        [--baseline-n 100000] [--cache /work/cache/i17]
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


def make_set(n: int, no: int, nc: int, n_probe: int, n_middle: int, cache: Path | None):
    """The synthetic hashes, probes and planted copies (cached as .npz when `cache`)."""
    from forensics.copies.probes import Probes
    from forensics.hashing import windows as W

    f = cache / f"grouping_{n}_{no}_{nc}_{n_probe}_{n_middle}.npz" if cache else None
    if f is not None and f.exists():
        z = np.load(f)
        probes = Probes(z["pp"], z["pd"], np.ones(n, bool), np.zeros(0, np.int64))
        return z["p"], z["d"], probes, {k: z[k] for k in ("copy_rows", "copy_of", "p_orig", "p_copy", "m_orig", "m_copy")}
    rng = np.random.default_rng(11)
    p = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
    d = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
    # Rows [0, no) are originals; each copy row is placed at a random free position.
    copy_rows = rng.choice(np.arange(no, n), size=no * nc, replace=False)
    copy_of = np.repeat(np.arange(no), nc)
    p[copy_rows] = flip_bits(p[copy_of], rng)
    d[copy_rows] = flip_bits(d[copy_of], rng)

    def rand(shape):
        return rng.integers(-(2**63), 2**63 - 1, shape, dtype=np.int64).view(np.uint64)

    probes = Probes(rand((W.N_SLOTS, n)), rand((W.N_SLOTS, n)), np.ones(n, bool), np.zeros(0, np.int64))
    probes.p[W.TRIM], probes.d[W.TRIM] = p.view(np.uint64), d.view(np.uint64)  # no frames: trim = own
    free = np.setdiff1d(np.arange(no, n), copy_rows)
    pick = rng.choice(free, size=2 * (n_probe + n_middle), replace=False)
    p_orig, p_copy = pick[:n_probe], pick[n_probe:2 * n_probe]
    m_orig, m_copy = pick[2 * n_probe:2 * n_probe + n_middle], pick[2 * n_probe + n_middle:]
    slots = rng.choice(list(range(W.WIN0, W.WIN1)) + list(range(W.TURN0, W.TURN1)), size=n_probe)
    p[p_copy] = flip_bits(probes.p[slots, p_orig].view(np.int64), rng)
    d[p_copy] = flip_bits(probes.d[slots, p_orig].view(np.int64), rng)
    probes.p[W.TRIM][p_copy], probes.d[W.TRIM][p_copy] = p[p_copy].view(np.uint64), d[p_copy].view(np.uint64)
    rot = rng.choice([W.ROT0, W.ROT0 + 1], size=n_middle)
    probes.p[W.CENTRE][m_copy] = flip_bits(probes.p[rot, m_orig].view(np.int64), rng).view(np.uint64)
    probes.d[W.CENTRE][m_copy] = flip_bits(probes.d[rot, m_orig].view(np.int64), rng).view(np.uint64)
    planted = {"copy_rows": copy_rows, "copy_of": copy_of, "p_orig": p_orig, "p_copy": p_copy,
               "m_orig": m_orig, "m_copy": m_copy}
    if f is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        np.savez(f, p=p, d=d, pp=probes.p, pd=probes.d, **planted)
    return p, d, probes, planted


def expected_random_pairs(n: int) -> float:
    """Pairs of independent uniform 64+64-bit hashes that the default rule accepts, expected."""
    from math import comb

    r = DEFAULT_RULE
    pa = sum(comb(64, a) * comb(64, b) for a in range(r.phash_max + 1) for b in range(r.dhash_max + 1)
             if a + b <= r.sum_max) / 2.0**128
    return pa * n * (n - 1) / 2


def run(n: int, args, method: str) -> None:
    from forensics.copies.probe_pairs import probe_pairs

    no = max(1, round(args.originals * n / args.n))
    n_probe = round(args.probe_copies * n / args.n)
    n_middle = round(args.middle_copies * n / args.n)
    p, d, probes, pl = make_set(n, no, args.copies, n_probe, n_middle, args.cache)
    m = HashMatrix(np.arange(n), p, d)
    m.probes = probes
    probes.attach_framed(m)
    print(f"{n:,} hashes, {no:,} originals with {args.copies} planted copies each (1-8 bits off in pHash and in"
          f" dHash), {n_probe:,} window/turn and {n_middle:,} tilt copies; method {method}", file=sys.stderr)
    t0, c0 = time.perf_counter(), time.process_time()
    stages: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        stages[stage] = time.perf_counter() - t0
        if done == total:
            print(f"  {stage} done at {stages[stage]:.0f} s", file=sys.stderr)

    params = IndexParams(method=method)
    a, b = visual_pairs(m, DEFAULT_RULE, params, progress)
    t_whole, c_whole = time.perf_counter() - t0, time.process_time() - c0
    pa, pb, _ = probe_pairs(m, DEFAULT_RULE)
    t_probes, c_probes = time.perf_counter() - t0 - t_whole, time.process_time() - c0 - c_whole
    a, b = np.concatenate([a, pa]), np.concatenate([b, pb])
    labels = components(n, a, b)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    copy_rows, copy_of = pl["copy_rows"], pl["copy_of"]
    found = int((labels[copy_rows] == labels[copy_of]).sum())
    found_p = int((labels[pl["p_copy"]] == labels[pl["p_orig"]]).sum())
    found_m = int((labels[pl["m_copy"]] == labels[pl["m_orig"]]).sum())
    sizes = np.bincount(labels)
    planted = np.zeros(n, bool)
    planted[np.concatenate([np.arange(no), copy_rows, pl["p_orig"], pl["p_copy"], pl["m_orig"], pl["m_copy"]])] = True
    grouped = sizes[labels] > 1
    stray = int((grouped & ~planted).sum())
    # A stray item is a random hash grouped with another: legitimate only when that pair
    # really satisfies the rule (then the pixels' verification decides in a real case).
    nw = len(a) - len(pa)  # the whole-picture pairs come first
    ua, ub = m.phash, m.dhash
    within = DEFAULT_RULE.accepts(np.bitwise_count(ua[a[:nw]] ^ ua[b[:nw]]), np.bitwise_count(ub[a[:nw]] ^ ub[b[:nw]]))
    stray_pairs = int((~planted[a] & ~planted[b]).sum())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"grouping {n:,} hashes ({method}): {total:.0f} s wall ({total / 60:.1f} min), {cpu:.0f} s CPU;"
          f" whole-picture pairs {t_whole:.0f} s wall / {c_whole:.0f} s CPU, probe pairs {t_probes:.0f} s wall /"
          f" {c_probes:.0f} s CPU; params {params.as_dict()}, rule {DEFAULT_RULE.as_dict()}")
    print(f"  planted copies found: {found:,} / {len(copy_rows):,} = {found / len(copy_rows):.4f}; window/turn"
          f" {found_p:,} / {n_probe:,} = {found_p / max(1, n_probe):.4f}; tilt {found_m:,} / {n_middle:,} ="
          f" {found_m / max(1, n_middle):.4f}")
    print(f"  confirmed pairs {len(a):,} (whole-picture {nw:,}, all within the rule: {bool(within.all())});"
          f" random items grouped"
          f" {stray:,} ({stray_pairs:,} random-random pairs, {expected_random_pairs(n):.1f} expected for"
          f" uniform hashes); peak RSS {peak:.0f} MiB; load average {os.getloadavg()[0]:.1f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--originals", type=int, default=10_000)
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--probe-copies", type=int, default=10_000)
    ap.add_argument("--middle-copies", type=int, default=2_000)
    ap.add_argument("--baseline-n", type=int, default=100_000, help="size of the set both methods run on (0: none)")
    ap.add_argument("--cache", type=Path, default=None, help="folder for the generated hash sets")
    args = ap.parse_args()
    print(f"machine: {len(os.sched_getaffinity(0))} cores, Python {sys.version.split()[0]}; load"
          f" {os.getloadavg()[0]:.1f}", flush=True)
    if args.baseline_n:
        run(args.baseline_n, args, "hnsw")
        run(args.baseline_n, args, "exact")
    run(args.n, args, "exact")


if __name__ == "__main__":
    main()
