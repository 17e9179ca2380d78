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
RATIO = 0.8  # Lowe's ratio test
RANSAC_PX = 5.0  # reprojection threshold at WORK_SIZE
MIN_KEYPOINTS = 40  # below this on either side ORB cannot decide: the caller falls back
# Inliers of the fitted similarity that make a copy. Chosen on the tuning half of
# bench/copies.py (docs/benchmarks.md): see MIN_INLIERS_NOTE there.
MIN_INLIERS = 25
MAX_SCALE = 8.0  # a fitted scale beyond 1/8..8 is a degenerate fit, not a copy


@dataclass(frozen=True)
class Features:
    """ORB keypoint positions (in WORK_SIZE pixels) and descriptors of one picture."""

    points: np.ndarray  # (n, 2) float32
    descriptors: np.ndarray | None  # (n, 32) uint8

    def __len__(self) -> int:
        return len(self.points)


def features(im: Image.Image) -> Features:
    """ORB features of a decoded picture (any mode)."""
    import cv2

    gray = im.convert("L")
    s = WORK_SIZE / max(gray.size)
    if abs(s - 1) > 0.02:
        gray = gray.resize((max(16, round(gray.width * s)), max(16, round(gray.height * s))),
                           Image.Resampling.BICUBIC if s > 1 else Image.Resampling.BOX)
    a = np.asarray(gray, dtype=np.uint8)
    orb = cv2.ORB_create(nfeatures=N_FEATURES, fastThreshold=12, edgeThreshold=15, patchSize=31)
    kps, desc = orb.detectAndCompute(a, None)
    pts = np.array([k.pt for k in kps], dtype=np.float32).reshape(-1, 2)
    return Features(pts, desc)


def inliers(a: Features | None, b: Features | None) -> int | None:
    """Matches consistent with one similarity transform between a and b; None when either
    side has too few keypoints for the count to mean anything."""
    import cv2

    if a is None or b is None or len(a) < MIN_KEYPOINTS or len(b) < MIN_KEYPOINTS:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(a.descriptors, b.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < 4:
        return 0
    src = a.points[[m.queryIdx for m in good]]
    dst = b.points[[m.trainIdx for m in good]]
    model, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX,
                                              maxIters=2000, confidence=0.995, refineIters=10)
    if model is None or mask is None:
        return 0
    scale = float(np.hypot(model[0, 0], model[1, 0]))
    if not (1 / MAX_SCALE <= scale <= MAX_SCALE):
        return 0
    return int(mask.sum())


def is_copy(n_inliers: int | None) -> bool | None:
    """The verdict for an inlier count; None when ORB could not decide."""
    return None if n_inliers is None else n_inliers >= MIN_INLIERS
