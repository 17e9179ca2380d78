"""Verification of captioned copies: ORB inliers and verdicts, per caption style.

bench/copies.py scores the whole search (candidates and verification) with one caption per
original. This benchmark looks at the verification stage alone, with many seeded captions
per original (bench/copies.caption: memes, news bands, subtitles; 1-3 lines; top, middle,
bottom), so the copy rule can be chosen on the tuning half with enough captioned copies to
see its tail, and reported on the held-out half:

- true pairs: each original against each of its captioned copies, in both directions
  (the original as query finds the captioned copy; the captioned copy as query finds the
  original);
- false pairs: each original against every other photo of the same LFW person (the
  hardest different pictures: same face, often the same event and backdrop), against
  its own photos' captioned copies, and against photos of other people.

Both pictures are decoded as ingest decodes them (forensics.media.image.open_image) and
compared with forensics.copies.keypoints; the second round's rule (ORB's own strongest
corners, the whole overlap's agreement only) is the baseline, in the same run.

    uv run python bench/copies_captions.py                  # the library rule, both halves
    uv run python bench/copies_captions.py --per 8 --show 5 # more captions, lowest pairs
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import copies as C  # noqa: E402  (bench/copies.py: originals, caption, halves)


def decoded(data: bytes):
    from forensics.media.image import open_image

    return open_image(data).image


def build(per: int, others: int, seed: int) -> tuple[list, list, list]:
    """(originals, true pairs, false pairs): originals as (name, half, image); pairs as
    (original index, image, style label)."""
    rng = random.Random(seed)
    from forensics.media.image import open_image

    origs, trues, falses = [], [], []
    for i, (name, data) in enumerate(C.originals()):
        origs.append((name, C.half_of(name), decoded(data)))
        full = open_image(data, draft=None).image  # as bench/copies.py edits it
        for _ in range(per):
            style_rng = random.Random(rng.random())
            trues.append((i, decoded(C.transform(full, "text", style_rng)), "caption"))
    shared = C.SHARED / "lfw"
    if shared.is_dir():
        by_person = {}
        for i, (name, _, _) in enumerate(origs):
            parts = Path(name).parts
            if parts[0] == "lfw":
                by_person[parts[1]] = i
        for person, i in by_person.items():
            for p in sorted((shared / person).glob("*.jpg"))[1:4]:
                im = decoded(p.read_bytes())
                falses.append((i, im, "same person"))
                falses.append((i, decoded(C._jpeg(C.caption(im.convert("RGB"), random.Random(rng.random())))),
                               "same person, captioned"))
        pool = sorted(set(shared.glob("*/*.jpg")) - {q for person in by_person for q in (shared / person).glob("*.jpg")})
        for p in random.Random(seed + 1).sample(pool, min(others, len(pool))):
            im = decoded(p.read_bytes())
            falses.append((rng.randrange(len(origs)), im, "other person"))
    return origs, trues, falses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per", type=int, default=6, help="captioned copies per original")
    ap.add_argument("--others", type=int, default=200, help="photos of other people as false pairs")
    ap.add_argument("--people", type=int, default=C.LFW_PEOPLE, help="LFW people with an original")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--max-cover", type=float, default=C.CAPTION_MAX_COVER,
                    help="largest share of the height a caption's lines take (bench/copies.py: 1/3)")
    ap.add_argument("--show", type=int, default=3, help="lowest true / highest false pairs to print")
    args = ap.parse_args()
    C.LFW_PEOPLE, C.CAPTION_MAX_COVER = args.people, args.max_cover
    from forensics.copies import keypoints as K

    t0 = time.perf_counter()
    origs, trues, falses = build(args.per, args.others, args.seed)
    print(f"{len(origs)} originals, {len(trues)} captioned copies, {len(falses)} false pairs, built in "
          f"{time.perf_counter() - t0:.1f} s")
    # Baseline in the same run: the second round's rule (ORB's own strongest corners, the
    # whole overlap's median agreement only).
    factor, unocc = K.DETECT_FACTOR, K.MIN_UNOCCLUDED
    K.DETECT_FACTOR, K.MIN_UNOCCLUDED = 1, float("inf")
    base_o = [K.features(im) for _, _, im in origs]
    for half, label in ((0, "tuning"), (1, "held-out")):
        pairs = [(base_o[i], K.features(im)) for i, im, _ in trues if origs[i][1] == half]
        kept = sum(1 for a, b in pairs for c in (K.compare(a, b), K.compare(b, a)) if K.is_copy(c) is not False)
        negs = [(base_o[i], K.features(im)) for i, im, _ in falses if origs[i][1] == half]
        fa = sum(1 for a, b in negs for c in (K.compare(a, b), K.compare(b, a)) if K.is_copy(c))
        print(f"second round's rule, {label} half: captioned copies kept {kept}/{2 * len(pairs)} = "
              f"{kept / max(1, 2 * len(pairs)):.3f}; false pairs accepted {fa}/{2 * len(negs)}")
    K.DETECT_FACTOR, K.MIN_UNOCCLUDED = factor, unocc
    feats_o = [K.features(im) for _, _, im in origs]
    t0 = time.process_time()
    feats_t = [K.features(im) for _, im, _ in trues]
    feats_f = [K.features(im) for _, im, _ in falses]
    n_feat = len(feats_t) + len(feats_f)
    print(f"features: {1000 * (time.process_time() - t0) / n_feat:.2f} ms CPU per picture")
    t0 = time.process_time()
    res_t = [(K.compare(feats_o[i], f), K.compare(f, feats_o[i])) for (i, _, _), f in zip(trues, feats_t)]
    res_f = [(K.compare(feats_o[i], f), K.compare(f, feats_o[i])) for (i, _, _), f in zip(falses, feats_f)]
    print(f"compare: {1000 * (time.process_time() - t0) / (2 * (len(res_t) + len(res_f))):.2f} ms CPU per pair")
    for half, label in ((0, "tuning"), (1, "held-out")):
        tv = [(c, trues[j]) for j, cs in enumerate(res_t) for c in cs if origs[trues[j][0]][1] == half]
        fv = [(c, falses[j]) for j, cs in enumerate(res_f) for c in cs if origs[falses[j][0]][1] == half]
        found = sum(1 for c, _ in tv if K.is_copy(c) is not False)
        undecided = sum(1 for c, _ in tv if K.is_copy(c) is None)
        false = [(c, p) for c, p in fv if K.is_copy(c)]
        und_f = sum(1 for c, _ in fv if K.is_copy(c) is None)
        print(f"\n{label} half: captioned copies kept {found}/{len(tv)} = {found / max(1, len(tv)):.3f}"
              f" ({undecided} left to the fine hash); false pairs accepted {len(false)}/{len(fv)}"
              f" ({und_f} left to the fine hash)")
        low = sorted((c.inliers, -1 if c.agreement is None else c.agreement, origs[p[0]][0]) for c, p in tv if c is not None)
        print(f"  lowest true (inliers, agreement): {[(n, round(a, 3)) for n, a, _ in low[:args.show]]}")
        missed = [(c.inliers, None if c.agreement is None else round(c.agreement, 3), origs[p[0]][0]) for c, p in tv
                  if K.is_copy(c) is False]
        for m in missed[:args.show]:
            print(f"  missed: {m}")
        hi = sorted(((c.inliers, -1 if c.agreement is None else c.agreement, p[2]) for c, p in fv if c is not None),
                    reverse=True)
        print(f"  highest false (inliers, agreement, kind): {[(n, round(a, 3), k) for n, a, k in hi[:args.show]]}")
        hia = sorted(((c.agreement, c.inliers, p[2]) for c, p in fv if c is not None and c.agreement is not None),
                     reverse=True)
        print(f"  highest false agreement (agreement, inliers, kind): {[(round(a, 3), n, k) for a, n, k in hia[:args.show]]}")
        # The caption path: true copies whose whole overlap disagrees, and false pairs with
        # covered rows, by their agreement outside the bands.
        tu = sorted(((-1.0 if c.unoccluded is None else round(c.unoccluded, 3)), c.covered_rows)
                    for c, _ in tv if c is not None and c.agreement is not None and c.agreement < K.MIN_AGREEMENT
                    and c.inliers >= K.MIN_INLIERS)
        print(f"  true copies under MIN_AGREEMENT: (unoccluded or -1, covered rows) {tu}")
        fu = sorted(((c.unoccluded, c.covered_rows, c.inliers, p[2]) for c, p in fv
                     if c is not None and c.unoccluded is not None), reverse=True)
        print(f"  highest false unoccluded (value, covered rows, inliers, kind): "
              f"{[(round(u, 3), r, n, k) for u, r, n, k in fu[:args.show]]}")


if __name__ == "__main__":
    main()
