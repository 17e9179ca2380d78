"""Face-comparison scores as calibrated likelihood ratios, aware of the faces' quality.

A face hit's euclidean distance between two dlib descriptors says little by itself: its
meaning moves with the size and blur of both faces (two 24 px CCTV faces of different
people are often closer than a sharp photo and a 24 px face of the same person). The
packaged calibration (`data/calibration.json`, fitted by `bench/calibration.py` on LFW
faces at full resolution and degraded to 24/32/48 px, cross-validated across the
identity-disjoint LFW folds) turns a distance and the two faces' qualities into

    LR = P(distance | same person) / P(distance | different people),

reported as log10 LR. The model is a logistic regression with prior-balanced weights,
so its log-odds are the natural log of the LR, linear in the distance with an intercept
and slope that depend on the log widths of the smaller and the larger face. LRs are
bounded per quality band by the empirical lower and upper bounds (ELUB) that the
validation data can support (Vergeer et al., "Numerical likelihood ratios outputted by
LR systems are often based on extrapolation: when to stop extrapolating?", Science &
Justice 56 (2016) 482-491): a system never claims more than its data showed. A band
whose validation data show strong evidence (|log10 LR| > 2) misleading in more than 1 in
2,000 pairs is further capped at 2 on that side.

Verbal scale: ENFSI Guideline for Evaluative Reporting in Forensic Science (European
Network of Forensic Science Institutes, 2015), section 2.4 / table of verbal
equivalents: LR 1 "no support for either proposition", 2-10 weak, 10-100 moderate,
100-1,000 moderately strong, 1,000-10,000 strong, 10,000-1,000,000 very strong, above
1,000,000 extremely strong support; LRs below 1 are expressed the same way for the
alternative proposition (different persons).

The propositions are "the two faces are of the same person" against "they are of two
different people from a population like LFW's (adult public figures, mostly frontal
photos)". Case material that departs from that population is checked, not re-fitted:
see `forensics.faces.case_check`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

DATA_FILE = "calibration.json"
# The descriptor's input chip is 150 px; the quality effect of width saturates well
# below it and no calibration data exists under 16 px.
WIDTH_MIN, WIDTH_MAX = 16.0, 128.0

# ENFSI 2015 verbal equivalents: (lower bound of log10 LR, words).
_ENFSI = ((6.0, "extremely strong support"), (4.0, "very strong support"), (3.0, "strong support"),
          (2.0, "moderately strong support"), (1.0, "moderate support"), (math.log10(2.0), "weak support"))
VERBAL_SCALE_NAME = "ENFSI Guideline for Evaluative Reporting in Forensic Science (2015)"


def verbal_scale(log10_lr: float) -> str:
    """The ENFSI (2015) verbal equivalent of a log10 LR, naming the supported proposition."""
    if log10_lr is None or not math.isfinite(float(log10_lr)):
        return "not evaluated"
    v = float(log10_lr)
    mag = abs(v)
    for lo, words in _ENFSI:
        if mag >= lo:
            return f"{words} for {'the same person' if v > 0 else 'different persons'}"
    return "no support for either proposition"


@dataclass(frozen=True)
class FaceQuality:
    """What the calibration needs to know about one face."""

    width_px: float  # face box width in the source pixels (photo or frame)
    sharpness: float | None = None  # the pipeline's sharpness measure (faces.sharpness)
    confidence: float | None = None  # detector confidence 0..1, None when unknown (HOG)

    @classmethod
    def from_face(cls, face: dict) -> "FaceQuality":
        """From a face dict or row with `size` (or `box`), `sharpness` and optional `confidence`."""
        width = face.get("size")
        if width is None and face.get("box"):
            b = face["box"]
            width = min(b["right"] - b["left"], b["bottom"] - b["top"])
        return cls(float(width or 0.0), face.get("sharpness"), face.get("confidence"))


def _log_width(q: FaceQuality) -> float:
    return math.log(min(max(float(q.width_px), WIDTH_MIN), WIDTH_MAX))


def quality_band(q: FaceQuality, bands: list[dict]) -> str:
    """Name of the size band a face falls in (bands ordered from the largest)."""
    for b in bands:
        if q.width_px >= b["min_width"]:
            return b["name"]
    return bands[-1]["name"]


def pair_band(qa: FaceQuality, qb: FaceQuality, bands: list[dict]) -> str:
    """The pair's band, e.g. 'full-full', 'full-24', '32-32' (larger face first)."""
    order = [b["name"] for b in bands]
    a, b = quality_band(qa, bands), quality_band(qb, bands)
    return "-".join(sorted((a, b), key=order.index))


class Calibration:
    """A fitted distance-to-LR model with its bounds, decision rule and provenance."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.version: str = spec["version"]
        self.provenance: dict = spec.get("provenance", {})
        self.coef: dict[str, float] = dict(spec["model"]["coef"])
        self.bands: list[dict] = spec["bands"]
        self.bounds: dict[str, tuple[float, float]] = {k: (float(v[0]), float(v[1]))
                                                       for k, v in spec.get("bounds", {}).items()}
        self.decision_log10_lr: float = float(spec.get("decision_log10_lr", 1.0))
        self.min_reliable_width: float = float(spec.get("min_reliable_width", 24.0))
        self.max_radius: float = float(spec.get("max_radius", 0.8))
        self.cluster: dict = spec.get("cluster", {})
        self.relatives: dict = spec.get("relatives", {})

    # -- the model ------------------------------------------------------------------
    def _coeffs(self, wa, wb):
        """(intercept, slope) of the natural-log LR in the distance, for widths (floats or arrays)."""
        la = np.log(np.clip(np.asarray(wa, float), WIDTH_MIN, WIDTH_MAX))
        lb = np.log(np.clip(np.asarray(wb, float), WIDTH_MIN, WIDTH_MAX))
        ls, ll = np.minimum(la, lb), np.maximum(la, lb)
        c = self.coef
        a = c.get("1", 0.0) + c.get("ls", 0.0) * ls + c.get("ll", 0.0) * ll + c.get("ls*ll", 0.0) * ls * ll
        b = c.get("d", 0.0) + c.get("d*ls", 0.0) * ls + c.get("d*ll", 0.0) * ll + c.get("d*ls*ll", 0.0) * ls * ll
        return a, np.minimum(b, -1e-6)  # the LR never rises with the distance

    def _line(self, qa: FaceQuality, qb: FaceQuality) -> tuple[float, float]:
        a, b = self._coeffs(qa.width_px, qb.width_px)
        return float(a), float(b)

    def distance_thresholds(self, wa, wb, log10_lr: float | None = None) -> np.ndarray:
        """`match_threshold` for arrays of face widths at once (clustering's kNN graph)."""
        target = self.decision_log10_lr if log10_lr is None else float(log10_lr)
        a, b = self._coeffs(wa, wb)
        return np.clip((target * math.log(10.0) - a) / b, 0.0, self.max_radius)

    def log10_lr(self, distance, qa: FaceQuality, qb: FaceQuality):
        """log10 LR of a distance (float or numpy array) between faces of qualities qa, qb."""
        a, b = self._line(qa, qb)
        d = np.asarray(distance, dtype=float)
        out = (a + b * d) / math.log(10.0)
        lo, hi = self.bounds.get(pair_band(qa, qb, self.bands), (-np.inf, np.inf))
        out = np.clip(out, lo, hi)
        return float(out) if out.ndim == 0 else out

    def log10_lr_pairs(self, distance, wa, wb) -> np.ndarray:
        """log10 LR of many pairs at once: arrays of distances and of both faces' widths."""
        a, b = self._coeffs(wa, wb)
        out = (a + b * np.asarray(distance, float)) / math.log(10.0)
        if self.bounds:
            names = [x["name"] for x in self.bands]
            mins = np.array([x["min_width"] for x in self.bands], float)

            def idx(w):  # index of the first (largest) band a width reaches
                w = np.asarray(w, float)[..., None]
                return np.where(w >= mins, np.arange(len(mins)), len(mins) - 1).min(-1)

            ia, ib = idx(wa), idx(wb)
            lo_i, hi_i = np.minimum(ia, ib), np.maximum(ia, ib)
            for (i, j) in {(int(x), int(y)) for x, y in zip(lo_i.ravel(), hi_i.ravel())}:
                bound = self.bounds.get(f"{names[i]}-{names[j]}")
                if bound:
                    m = (lo_i == i) & (hi_i == j)
                    out = np.where(m, np.clip(out, *bound), out)
        return out

    def pair_scorer(self, widths):
        """A fast `log10_lr_pairs` for many small blocks of one face set: returns
        f(distances, rows_a, rows_b) -> log10 LR matrix, with the faces' log widths and
        bands worked out once (clustering scores thousands of group pairs)."""
        w = np.asarray(widths, float)
        lw = np.log(np.clip(w, WIDTH_MIN, WIDTH_MAX))
        names = [x["name"] for x in self.bands]
        mins = np.array([x["min_width"] for x in self.bands], float)
        band = np.where(w[:, None] >= mins, np.arange(len(mins)), len(mins) - 1).min(-1) if len(w) else np.zeros(0, int)
        nb = len(names)
        lo = np.full((nb, nb), -np.inf)
        hi = np.full((nb, nb), np.inf)
        for i in range(nb):
            for j in range(nb):
                bound = self.bounds.get(f"{names[min(i, j)]}-{names[max(i, j)]}")
                if bound:
                    lo[i, j], hi[i, j] = bound
        c = self.coef
        ln10 = math.log(10.0)

        def score(d: np.ndarray, ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
            la, lb = lw[ra][:, None], lw[rb][None, :]
            ls, ll = np.minimum(la, lb), np.maximum(la, lb)
            sl = ls * ll
            a = c.get("1", 0.0) + c.get("ls", 0.0) * ls + c.get("ll", 0.0) * ll + c.get("ls*ll", 0.0) * sl
            b = c.get("d", 0.0) + c.get("d*ls", 0.0) * ls + c.get("d*ll", 0.0) * ll + c.get("d*ls*ll", 0.0) * sl
            out = (a + np.minimum(b, -1e-6) * d) / ln10
            bi, bj = band[ra][:, None], band[rb][None, :]
            return np.minimum(np.maximum(out, lo[bi, bj]), hi[bi, bj])

        return score

    def is_match(self, distance: float, qa: FaceQuality, qb: FaceQuality) -> bool:
        """The default decision: the evidence supports the same person at least moderately
        on the ENFSI scale (log10 LR >= `decision_log10_lr`, 1 in the shipped fit, i.e.
        LR >= 10; LRs of 1-10 are "no" or "weak" support and, in a case of many people,
        mostly strangers) and both faces are reliable."""
        return (self.reliable(qa) and self.reliable(qb)
                and float(self.log10_lr(distance, qa, qb)) >= self.decision_log10_lr)

    def match_threshold(self, qa: FaceQuality, qb: FaceQuality, log10_lr: float | None = None) -> float:
        """The euclidean distance at which the log10 LR crosses `log10_lr` (default: the
        decision level) for these qualities, for an hnswlib radius."""
        return float(self.distance_thresholds(qa.width_px, qb.width_px, log10_lr))

    def search_radius(self) -> float:
        """The loosest match threshold over all reliable qualities (to collect candidates)."""
        widths = np.geomspace(max(self.min_reliable_width, WIDTH_MIN), WIDTH_MAX, 12)
        return max(self.match_threshold(FaceQuality(float(x)), FaceQuality(float(y))) for x in widths for y in widths)

    def reliable(self, q: FaceQuality) -> bool:
        """False for faces smaller than the calibration data reached: such faces are leads,
        never merged into persons, and their LRs are extrapolations."""
        return float(q.width_px) >= self.min_reliable_width

    def cluster_eligible(self, q: FaceQuality) -> bool:
        """Whether a face may seed or join a cluster (smaller faces are only suggested)."""
        return self.reliable(q) and float(q.width_px) >= float(self.cluster.get("min_width", 40.0))

    @property
    def cluster_rule(self):
        """The corroborated linkage rule of clustering (`forensics.faces.linkage.LinkRule`,
        levels chosen on LFW): no single pair of faces ever merges two identities."""
        from forensics.faces.linkage import LinkRule

        return LinkRule.from_spec(self.cluster.get("linkage"))

    @property
    def cluster_link_log10_lr(self) -> float:
        """The evidence a face pair needs to support a merge (the rule's pair level; a merge
        needs several such pairs). Pairs between the decision level and this go to the
        analyst as possible relatives / same person."""
        return float(self.cluster_rule.pair_log10_lr)

    def describe(self, distance: float, qa: FaceQuality, qb: FaceQuality) -> dict:
        """The fields a face hit carries: log10 LR, its verbal equivalent, band, reliability."""
        v = float(self.log10_lr(distance, qa, qb))
        return {"log10_lr": round(v, 2), "verbal": verbal_scale(v), "band": pair_band(qa, qb, self.bands),
                "reliable": self.reliable(qa) and self.reliable(qb)}

    def summary(self) -> dict:
        """What a report's method section and the audit log record about this calibration."""
        return {"version": self.version, "scale": VERBAL_SCALE_NAME, "provenance": self.provenance,
                "decision_log10_lr": self.decision_log10_lr, "min_reliable_width": self.min_reliable_width}


def from_json(text: str) -> Calibration:
    return Calibration(json.loads(text))


@lru_cache(maxsize=1)
def load_calibration() -> Calibration:
    """The calibration shipped with the package (cached)."""
    text = resources.files("forensics.faces").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return from_json(text)
