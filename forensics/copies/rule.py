"""When two perceptual hashes say "same picture": the visual-copy rule.

The default numbers were picked from bench/copies.py (see docs/benchmarks.md, section
"Visual copies"), not by guess: pHash alone at the customary <= 10 misses heavy crops and
borders, while two independent hashes that must both agree allow a looser pHash bound
without false matches between different photos.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CopyRule:
    """A pair is a visual copy when pHash <= phash_max AND dHash <= dhash_max AND their sum
    <= sum_max. Distances are Hamming distances between 64-bit hashes."""

    phash_max: int = 16
    dhash_max: int = 16
    sum_max: int = 30

    @property
    def phash_bound(self) -> int:
        """Upper bound on the pHash distance of any match (used to prefilter scans)."""
        return min(self.phash_max, self.sum_max)

    @property
    def combined_bound(self) -> int:
        """Upper bound on pHash + dHash of any match (used to prefilter index candidates)."""
        return min(self.sum_max, self.phash_max + self.dhash_max)

    def accepts(self, d_phash: np.ndarray | int, d_dhash: np.ndarray | int):
        """Vectorised: True where the distances make a visual copy."""
        dp = np.asarray(d_phash, dtype=np.int32)
        dd = np.asarray(d_dhash, dtype=np.int32)
        return (dp <= self.phash_max) & (dd <= self.dhash_max) & (dp + dd <= self.sum_max)

    @classmethod
    def from_threshold(cls, threshold: int | None) -> "CopyRule":
        """A rule scaled from one number: the pHash bound. Keeps the default ratios, so
        `--threshold 8` is stricter on both hashes and `--threshold 16` looser on both."""
        if threshold is None:
            return cls()
        base = cls()
        t = max(0, min(64, int(threshold)))
        scale = t / base.phash_max if base.phash_max else 1.0
        return cls(t, round(base.dhash_max * scale), round(base.sum_max * scale))

    def as_dict(self) -> dict:
        return {"phash_max": self.phash_max, "dhash_max": self.dhash_max, "sum_max": self.sum_max}


DEFAULT_RULE = CopyRule()
