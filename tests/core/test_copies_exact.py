"""Exact hash search without a full scan: the chunk index (multi-index hashing) and the all-pairs join return exactly what brute force does."""
from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest

from forensics.copies import chunk_index as C
from forensics.copies.matrix import HashMatrix
from forensics.copies.probes import Probes, scan_all
from forensics.copies.rule import DEFAULT_RULE, CopyRule
from forensics.hashing import windows as W


def _at_distance(h: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each hash with exactly k[i] random bits flipped."""
    out = h.copy()
    for i, kk in enumerate(k.tolist()):
        mask = 0
        for b in rng.choice(64, size=kk, replace=False):
            mask |= 1 << int(b)
        out[i] ^= np.uint64(mask)
    return out


def _rand(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.integers(0, 2**63, shape, dtype=np.int64).view(np.uint64) ^ rng.integers(0, 2, shape).astype(np.uint64) << np.uint64(63)


def test_radii_cover_the_bound_and_masks_count():
    for bound in range(64):
        for chunks in (3, 4):
            r = C.radii(bound, chunks)
            assert sum(x + 1 for x in r) == bound + 1
            assert list(r) == sorted(r, reverse=True)
    for w, r in ((21, 0), (21, 2), (22, 4)):
        m = C.flip_masks(w, r)
        assert len(m) == sum(comb(w, k) for k in range(r + 1)) == len(set(m.tolist()))
        assert int(np.bitwise_count(m).max()) == r and int(m.max()) < 1 << w


@pytest.mark.parametrize("layout", sorted(C.LAYOUTS))
@pytest.mark.parametrize("bound", [0, 3, 10, 16, 21])
def test_candidates_equal_brute_force_with_neighbours_at_every_distance(bound, layout):
    rng = np.random.default_rng(bound)
    q = _rand(rng, 5)
    # Planted: for every query, hashes at each distance 0..bound+3 (several per distance,
    # so the flipped bits land in every chunk), in a sea of random ones.
    dist = np.repeat(np.arange(bound + 4), 6)
    planted = np.concatenate([_at_distance(np.full(len(dist), v, np.uint64), dist, rng) for v in q])
    # And the hardest ones: exactly `bound` bits off, split over the chunks in every way
    # (a0 + a1 + ... = bound), so some are found through one chunk only.
    widths, shifts = C.LAYOUTS[layout]
    splits = [s for s in itertools.product(range(bound + 1), repeat=len(widths) - 1) if sum(s) <= bound]
    edge = []
    for v in q[:2]:
        for split in splits:
            mask = 0
            for j, k in enumerate(split + (bound - sum(split),)):
                for b in rng.choice(widths[j], size=min(k, widths[j]), replace=False):
                    mask |= 1 << (shifts[j] + int(b))
            edge.append(int(v) ^ mask)
    planted = np.concatenate([planted, np.array(edge, np.uint64)])
    values = np.concatenate([_rand(rng, 20_000), planted])
    rng.shuffle(values)
    idx = C.ChunkIndex(values, layout=layout)
    want = np.flatnonzero(np.min([np.bitwise_count(values ^ v) for v in q], axis=0) <= bound)
    got = idx.candidates(q, bound)
    assert got.tolist() == want.tolist()
    assert len(want) >= 5 * 6 * (bound + 1)
    assert idx.candidates(q, bound, threads=1).tolist() == want.tolist()


def test_bucket_overflow_is_retried():
    # Far more identical hashes than the first output buffer holds.
    values = np.full(40_000, 0x0123456789ABCDEF, np.uint64)
    idx = C.ChunkIndex(values)
    assert idx.candidates(values[:1], 16).tolist() == list(range(40_000))


def test_scan_all_through_the_index_equals_the_scan():
    rng = np.random.default_rng(5)
    n = 30_000
    p, d = _rand(rng, n), _rand(rng, n)
    pr = Probes(_rand(rng, (W.N_SLOTS, n)), _rand(rng, (W.N_SLOTS, n)), np.ones(n, bool), np.zeros(0, np.int64))
    unframed = rng.random(n) >= 0.05
    pr.p[W.TRIM][unframed], pr.d[W.TRIM][unframed] = p[unframed], d[unframed]
    # The query: a stored item's hashes turned 8 ways and its probes.
    qi = rng.integers(0, n, 8)
    # A query has its stored-like probes and then its search-only turned middles.
    q_probes = np.concatenate([np.stack([pr.p[:, qi[0]], pr.d[:, qi[0]]], axis=1), _rand(rng, (4, 2))])
    targets = [(p, d), (pr.p[W.WIN0 + 3], pr.d[W.WIN0 + 3]), (pr.p[W.CENTRE], pr.d[W.CENTRE])]
    # Plant items at every (pHash, dHash) distance pair around the copy rule's edge, in the
    # own hashes, in a window slot and in the middle slot.
    pairs = [(a, b) for a in range(0, 19) for b in range(0, 19, 3)]
    rows = rng.choice(n, size=3 * len(pairs), replace=False).reshape(3, -1)
    src_p = [p[qi[3]], q_probes[W.TRIM + 0, 0], q_probes[W.N_SLOTS + 2, 0]]
    src_d = [d[qi[3]], q_probes[W.TRIM + 0, 1], q_probes[W.N_SLOTS + 2, 1]]
    for (tp, td), r, sp, sd in zip(targets, rows, src_p, src_d):
        da = np.array([a for a, _ in pairs])
        db = np.array([b for _, b in pairs])
        tp[r] = _at_distance(np.full(len(r), sp, np.uint64), da, rng)
        td[r] = _at_distance(np.full(len(r), sd, np.uint64), db, rng)
    m = HashMatrix(np.arange(n) + 1, p, d)
    m.probes = pr
    pr.attach_framed(m)
    for rule in (DEFAULT_RULE, CopyRule(10, 10, 18), CopyRule(20, 20, 36)):
        scan = scan_all(m, p[qi], d[qi], q_probes, rule, index=False)
        mih = scan_all(m, p[qi], d[qi], q_probes, rule, index=True)
        assert mih == scan
        assert len(scan) >= 50
        assert {h.via for h in scan} >= {"whole", "window", "centre"}


def test_exact_pairs_equal_brute_force():
    from forensics.copies.grouping import exact_pairs

    rng = np.random.default_rng(9)
    n = 3_001  # not a multiple of the kernel's 4 rows
    p, d = _rand(rng, n), _rand(rng, n)
    # Copies of a few rows at every pHash distance 0..18 and a spread of dHash distances,
    # some next to their original (inside one 4-row group) and some far away.
    src = rng.choice(n, 60, replace=False)
    for i, s in enumerate(src.tolist()):
        t = (s + 1 + i % 3) % n if i % 2 else int(rng.integers(0, n))
        if t == s:
            continue
        p[t] = _at_distance(p[s:s + 1], np.array([i % 19]), rng)[0]
        d[t] = _at_distance(d[s:s + 1], np.array([(7 * i) % 19]), rng)[0]
    for rule in (DEFAULT_RULE, CopyRule(8, 8, 12)):
        dp = np.bitwise_count(p[:, None] ^ p[None, :])
        dd = np.bitwise_count(d[:, None] ^ d[None, :])
        ok = np.triu(rule.accepts(dp, dd), 1)
        want = set(zip(*np.nonzero(ok)))
        for threads in (1, 2):
            a, b = exact_pairs(p, d, rule, threads=threads)
            got = list(zip(a.tolist(), b.tolist()))
            assert len(got) == len(set(got))
            assert set(got) == {(int(x), int(y)) for x, y in want}
        assert len(want) >= (10 if rule is DEFAULT_RULE else 3)


def test_query_orientations_hash_as_the_turned_image_would():
    from PIL import Image

    from forensics.copies.query import DIHEDRAL, hashes_of_image
    from forensics.hashing.perceptual import image_hashes

    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:97, 0:143]
    smooth = np.stack([x * 1.7, y * 2.3, (x + y) % 200], axis=2) + rng.normal(0, 9, (97, 143, 3))
    for a in (smooth, rng.integers(0, 255, (64, 40, 3))):
        im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).convert("RGB")
        q = hashes_of_image(im)
        for i, (_, tr) in enumerate(DIHEDRAL):
            h = image_hashes(im if tr is None else im.transpose(tr))
            assert (q.phash[i], q.dhash[i]) == (h["phash"], h["dhash"])
        assert q.probes.shape[0] > 19  # the search-only turned middles follow the probes


def test_index_is_saved_memory_mapped_and_rebuilt_when_the_hashes_change(tmp_path):
    rng = np.random.default_rng(12)
    values = _rand(rng, 5_000)
    q = values[:3].copy()
    want = C.ChunkIndex(values).candidates(q, 16).tolist()

    class Owner:
        index_dir = tmp_path

    first = C.index_for(Owner(), "own", values)
    assert (tmp_path / "own" / "manifest.json").exists()
    again = C.index_for(Owner(), "own", values)  # a new session: loaded, not rebuilt
    assert isinstance(again.tables[0].values, np.memmap)
    assert first.candidates(q, 16).tolist() == again.candidates(q, 16).tolist() == want
    changed = values.copy()
    changed[7] ^= np.uint64(1)
    fresh = C.index_for(Owner(), "own", changed)
    assert not isinstance(fresh.tables[0].values, np.memmap)
    assert fresh.candidates(changed[7:8], 0).tolist() == [7]
    # A damaged manifest is rebuilt from the hashes, not trusted.
    (tmp_path / "own" / "manifest.json").write_text("{")
    assert C.index_for(Owner(), "own", changed).candidates(q, 16).tolist() == want
