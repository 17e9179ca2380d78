"""Confirming a visual-copy candidate with local features and geometry.

Hashes propose candidates; this module decides. ORB keypoints (OpenCV) of both pictures
are matched (Hamming distance, Lowe's ratio test) and a similarity transform (rotation,
uniform scale, shift) is fitted with RANSAC. A copy - recompressed, resized, cropped,
framed, captioned or turned a few degrees - keeps its pixels in place up to such a
transform, so many matches agree with one transform. Another photo of the same person or
scene does not: the head turns, the camera moves, the background shifts against the
subject, and only a handful of matches fit any single similarity.

Mirrored and 90-degree-turned copies are compared with the query turned the same way (the
orientation whose hash matched), since a mirror is not a similarity.

Features are computed lazily, for candidates only (bench/copies_keypoints.py measured the
alternative, keypoints at ingest: see docs/benchmarks.md), from the same draft-decoded
pixels as the hashes, at a fixed working size so both sides are at comparable scales.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

WORK_SIZE = 320  # long side the picture is scaled to (up or down) before ORB
N_FEATURES = 500
# Keypoints are spread over a GRID x GRID grid: ORB keeps the strongest corners of the whole
# picture, and the letters of a caption are the strongest corners there are, so a caption
# took most of the 500 and left a face 0-15 matches (bench/copies_captions.py). Each cell
# first gets its share of the strongest corners detected in it, the rest go by strength.
GRID = 4
DETECT_FACTOR = 6  # corners detected per keypoint kept, to choose the spread from (bench/copies_captions.py: 3 left 7 of 344 tuning-half captions under MIN_INLIERS, 4 left 1, 6 none)
RATIO = 0.8  # Lowe's ratio test
RANSAC_PX = 5.0  # reprojection threshold at WORK_SIZE
MIN_KEYPOINTS = 40  # below this on either side ORB cannot decide: the caller falls back
# Inliers of the fitted similarity that make a copy. Chosen on the tuning half of
# bench/copies.py (docs/benchmarks.md): true copies >= 19 inliers (text overlays on 250 px
# faces lowest, everything else >= 63); different pictures among the hash candidates 12 or
# fewer, except two photos of one event (35, 181), which the agreement test below rejects.
MIN_INLIERS = 16
MAX_SCALE = 8.0  # a fitted scale beyond 1/8..8 is a degenerate fit, not a copy
# Photometric agreement: after aligning the candidate onto the query with the fitted
# transform, the median correlation of 8x8 blocks (textured blocks of the overlap, at
# AGREE_SIZE px, lightly blurred). A copy agrees everywhere (>= 0.974 for every edit class
# in bench/copies.py, text overlays lowest); a burst shot of the same scene, where the
# background is the same photograph but the person moved, matches many keypoints (181
# inliers) yet disagrees on the person (0.95). Chosen from the tuning half.
MIN_AGREEMENT = 0.965
# Captions (`unoccluded`): rows of 8x8 blocks below COVERED_BELOW are covered when they
# form at most MAX_BANDS runs (top and bottom of a meme) of MAX_COVERED_ROWS rows in all,
# and the rest must agree at MIN_UNOCCLUDED over >= MIN_KEPT_BLOCKS blocks.
COVERED_BELOW = 0.9
MAX_BANDS = 2
MAX_COVERED_ROWS = 4
MIN_KEPT_BLOCKS = 16
MIN_UNOCCLUDED = 0.985
AGREE_SIZE = 160


@dataclass(frozen=True)
class Features:
    """ORB keypoint positions (in WORK_SIZE pixels) and descriptors of one picture."""

    points: np.ndarray  # (n, 2) float32
    descriptors: np.ndarray | None  # (n, 32) uint8
    small: np.ndarray  # grey pixels at AGREE_SIZE on the long side, float32
    scale: float  # points are in pixels of the picture scaled by this factor
    small_scale: float  # `small` is the picture scaled by this factor

    def __len__(self) -> int:
        return len(self.points)


def features(im: Image.Image) -> Features:
    """ORB features of a decoded picture (any mode)."""
    import cv2

    gray = im.convert("L")
    s = WORK_SIZE / max(gray.size)
    ss = AGREE_SIZE / max(gray.size)
    small = np.asarray(gray.resize((max(8, round(gray.width * ss)), max(8, round(gray.height * ss))),
                                   Image.Resampling.BILINEAR), dtype=np.float32)
    if abs(s - 1) > 0.02:
        gray = gray.resize((max(16, round(gray.width * s)), max(16, round(gray.height * s))),
                           Image.Resampling.BICUBIC if s > 1 else Image.Resampling.BOX)
    a = np.asarray(gray, dtype=np.uint8)
    orb = cv2.ORB_create(nfeatures=N_FEATURES * DETECT_FACTOR, fastThreshold=12, edgeThreshold=15, patchSize=31)
    kps = spread(orb.detect(a, None), a.shape, N_FEATURES)
    kps, desc = orb.compute(a, kps)
    pts = (cv2.KeyPoint_convert(kps) if kps else np.zeros((0, 2))).astype(np.float32).reshape(-1, 2)
    return Features(pts, desc, small, s, ss)


def spread(kps, shape: tuple[int, int], n: int, grid: int = GRID) -> list:
    """At most n of the keypoints: first the strongest n // grid**2 of each grid cell,
    then the strongest of the rest, so no one region (a caption) takes them all."""
    import cv2

    kps = list(kps)
    if len(kps) <= n:
        return kps
    h, w = shape
    xy = cv2.KeyPoint_convert(kps).astype(np.float64)  # in C++: a Python loop over k.pt costs 1 ms
    cell = (np.minimum(grid - 1, (xy[:, 1] * grid / h).astype(int)) * grid
            + np.minimum(grid - 1, (xy[:, 0] * grid / w).astype(int)))
    order = np.argsort(-np.array([k.response for k in kps]), kind="stable")
    # Rank of each keypoint within its cell, strongest first.
    by_cell = order[np.argsort(cell[order], kind="stable")]
    first = np.searchsorted(cell[by_cell], cell[by_cell], side="left")
    rank = np.empty(len(kps), int)
    rank[by_cell] = np.arange(len(kps)) - first
    share = rank[order] < n // grid ** 2
    chosen = np.concatenate([order[share], order[~share]])[:n]
    return [kps[i] for i in chosen]


@dataclass(frozen=True)
class Comparison:
    """The geometric and photometric evidence for one candidate pair."""

    inliers: int
    agreement: float | None  # None when no transform was fitted
    # Agreement outside caption bands (see `unoccluded`), and how many of the 8 rows of
    # blocks were taken as covered; None when no row was.
    unoccluded: float | None = None
    covered_rows: int = 0

    def as_dict(self) -> dict:
        out = {"inliers": self.inliers, "agreement": None if self.agreement is None else round(self.agreement, 4)}
        if self.unoccluded is not None:
            out |= {"unoccluded": round(self.unoccluded, 4), "covered_rows": self.covered_rows}
        return out


def compare(a: Features | None, b: Features | None) -> Comparison | None:
    """Matches consistent with one similarity transform between a and b, and how well the
    aligned pictures agree; None when either side has too few keypoints to decide."""
    import cv2

    if a is None or b is None or len(a) < MIN_KEYPOINTS or len(b) < MIN_KEYPOINTS:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(a.descriptors, b.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < 4:
        return Comparison(0, None)
    src = a.points[[m.queryIdx for m in good]]
    dst = b.points[[m.trainIdx for m in good]]
    model, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX,
                                              maxIters=2000, confidence=0.995, refineIters=10)
    if model is None or mask is None:
        return Comparison(0, None)
    scale = float(np.hypot(model[0, 0], model[1, 0]))
    if not (1 / MAX_SCALE <= scale <= MAX_SCALE):
        return Comparison(0, None)
    n = int(mask.sum())
    if n < MIN_INLIERS:
        return Comparison(n, None)
    blocks = block_agreement(a, b, model)
    ok = blocks[np.isfinite(blocks)]
    unocc, covered = unoccluded(blocks)
    return Comparison(n, float(np.median(ok)) if ok.size else -1.0, unocc, covered)


def aligned(a: Features, b: Features, model: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a's small grey pixels and b's warped onto them by `model` (which maps a's keypoint
    coordinates to b's), both lightly blurred, and the mask of a's pixels that b covers."""
    import cv2

    m = model.astype(np.float64).copy()
    # From a's small pixels to b's small pixels: undo a's scale, apply the model, apply b's.
    m[:, :2] *= (b.small_scale / b.scale) / (a.small_scale / a.scale)
    m[:, 2] *= b.small_scale / b.scale
    h, w = a.small.shape
    warped = cv2.warpAffine(b.small, m, (w, h), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)
    valid = cv2.warpAffine(np.ones_like(b.small), m, (w, h), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_NEAREST)
    return cv2.GaussianBlur(a.small, (0, 0), 1.5), cv2.GaussianBlur(warped, (0, 0), 1.5), valid


def block_agreement(a: Features, b: Features, model: np.ndarray, grid: int = 8) -> np.ndarray:
    """(grid, grid) correlations of the blocks of a and of b aligned onto a by `model`;
    NaN for blocks outside the overlap or without texture on either side (a flat block
    says nothing either way)."""
    import cv2

    x, y, valid = aligned(a, b, model)
    x, y = x.astype(np.float64), y.astype(np.float64)
    h, w = x.shape
    # Per-block sums from summed-area tables: the same figures as np.corrcoef and np.std
    # block by block, without 64 rounds of Python (that loop was 2/3 of a comparison).
    ys, xs = np.arange(grid + 1) * h // grid, np.arange(grid + 1) * w // grid
    n = np.diff(ys)[:, None] * np.diff(xs)[None, :]

    def sums(v: np.ndarray) -> np.ndarray:
        c = cv2.integral(v, sdepth=cv2.CV_64F)[ys][:, xs]
        return c[1:, 1:] - c[:-1, 1:] - c[1:, :-1] + c[:-1, :-1]

    mx, my = sums(x) / n, sums(y) / n
    vx = np.maximum(sums(x * x) / n - mx * mx, 0)
    vy = np.maximum(sums(y * y) / n - my * my, 0)
    cov = sums(x * y) / n - mx * my
    ok = (sums(valid.astype(np.float64)) / n >= 0.9) & (np.sqrt(vx) >= 3) & (np.sqrt(vy) >= 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, np.clip(cov / np.sqrt(vx * vy), -1, 1), np.nan)


def unoccluded(blocks: np.ndarray) -> tuple[float | None, int]:
    """Agreement of the blocks outside caption bands, and how many rows were covered.

    A caption (meme text, a news band, a subtitle) covers horizontal strips of the picture
    and leaves the rest pixel for pixel as it was; another photo of the same scene differs
    a little everywhere the subject moved. So rows of blocks whose median correlation is
    below COVERED_BELOW are taken as covered when they form at most MAX_BANDS runs of at
    most MAX_COVERED_ROWS rows in all; the copy must then agree at MIN_UNOCCLUDED, a
    stricter bar than MIN_AGREEMENT, on at least MIN_KEPT_BLOCKS textured blocks of the
    other rows. (None, n) when no row is covered or the covered rows are not such bands."""
    rows = [r[np.isfinite(r)] for r in blocks]
    scored = [i for i, r in enumerate(rows) if r.size]
    covered = [i for i in scored if float(np.median(rows[i])) < COVERED_BELOW]
    if not covered or len(covered) > MAX_COVERED_ROWS:
        return None, len(covered)
    # Runs among the rows that have textured blocks (an opaque band has none: it joins
    # the text rows around it into one run).
    pos = [scored.index(i) for i in covered]
    runs = 1 + sum(1 for p, q in zip(pos, pos[1:]) if q != p + 1)
    kept = [rows[i] for i in scored if i not in covered]
    n_kept = sum(r.size for r in kept)
    if runs > MAX_BANDS or n_kept < MIN_KEPT_BLOCKS:
        return None, len(covered)
    return float(np.median(np.concatenate(kept))), len(covered)


def agrees(agreement_: float | None, unoccluded_: float | None) -> bool:
    """The photometric half of the copy rule: the whole overlap agrees, or what a
    caption left uncovered agrees closely."""
    return ((agreement_ is not None and agreement_ >= MIN_AGREEMENT)
            or (unoccluded_ is not None and unoccluded_ >= MIN_UNOCCLUDED))


def is_copy(c: Comparison | None) -> bool | None:
    """The verdict for a comparison; None when ORB could not decide."""
    if c is None:
        return None
    return c.inliers >= MIN_INLIERS and agrees(c.agreement, c.unoccluded)
