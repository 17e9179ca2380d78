"""Scoring video face tracks against a query face on every detection they hold.

A track is one person's run of detections: many small, blurred or turned faces and, with
luck, a few sharp frontal ones. Scoring it by a few representatives chosen for quality
loses the frame where the face turns to the camera when that frame is not among them;
averaging all frames drowns it. Here every detection is compared with the query, the
closest ceil(sqrt(n)) of them (1 of 1, 2 of 2-4, 3 of 5-9, 10 of 100) are kept, and
the track's distance is their mean weighted by detection quality (size, sharpness,
detector confidence: forensics.faces.tracks.quality). One lucky blurred frame cannot
carry a long track on its own, and a long track needs several close frames, not all.
The closest detection is the best-matching frame the result names and shows.

With a calibration (forensics.faces.calibration), the same is done on evidence instead
of distance: each detection's log10 likelihood ratio for the sizes of the query face and
of that detection, the strongest ceil(sqrt(n)) averaged with the quality weights, and the
track is a hit when that reaches the decision level. A track whose best detections are
smaller than the calibration's reliable width is marked as a lead.

The scan is exact over all track detections, streamed from the database in blocks, so
memory stays bounded and no detection is left out of the search index's view.
"""
from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from forensics.faces.detect import EMBEDDING_DIM
from forensics.faces.tracks import quality

BLOCK = 20_000


@dataclass(frozen=True)
class TrackHit:
    track_id: int
    distance: float  # quality-weighted mean distance of the detections the score rests on
    best_face_id: int  # the detection that matches best
    best_distance: float
    matched: int  # how many detections were averaged
    detections: int
    log10_lr: float | None = None  # calibrated: quality-weighted mean log10 LR of those detections
    lead: bool = False  # calibrated: a lead, not a hit (see lead_reason)
    lead_reason: str | None = None  # LEAD_SMALL or LEAD_WEAK


@dataclass(frozen=True)
class TrackRule:
    """When a video track is a hit for a query, on its calibrated evidence.

    The calibration's decision level (log10 LR >= 1) is for one comparison. A footage
    search is thousands: every track of every person crossing the camera, each scored by
    the strongest of its detections, and 20-50 px faces of different people often sit at
    LR 10-100 from a photo. So a track is a hit when its evidence reaches a level for the
    width band of the detections it rests on (`levels`: (minimum width, log10 LR) from
    the largest band down), and it averages at least `min_matched` detections; tracks of
    faces under the calibration's reliable width that reach the lead level are leads,
    marked as such, and so are reliable tracks whose evidence reaches the lead level but
    not their band's hit level: both are shown for review, never as hits nor merged into a
    person. The lead level (`lead_log10_lr`) defaults to the calibration's decision level;
    a lower one holds more appearances among the leads, at the price of more strangers. An examiner's own `min_log10_lr` replaces the levels (every reliable track
    reaching it is a hit).
    """

    levels: tuple[tuple[float, float], ...]
    min_matched: int = 1
    lead_log10_lr: float | None = None  # leads from this evidence up (None: the calibration's decision level)
    chosen_on: str = ""

    def level(self, width: float) -> float:
        for min_width, lr in self.levels:
            if width >= min_width:
                return lr
        return self.levels[-1][1]

    def verdict(self, score: float, matched: int, width: float, calibration, floor: float | None) -> str | None:
        """"hit", a lead (LEAD_SMALL, LEAD_WEAK) or None for a track's score; `floor` an
        examiner's own level (None: this rule's levels above the calibration's decision level)."""
        from forensics.faces.calibration import FaceQuality

        least = floor if floor is not None else (self.lead_log10_lr if self.lead_log10_lr is not None
                                                 else calibration.decision_log10_lr)
        if score < least:
            return None
        if not calibration.reliable(FaceQuality(width)):
            return LEAD_SMALL
        if floor is not None or (score >= self.level(width) and matched >= self.min_matched):
            return "hit"
        return LEAD_WEAK

    def as_dict(self) -> dict:
        return {"levels": [list(x) for x in self.levels], "min_matched": self.min_matched,
                "lead_log10_lr": self.lead_log10_lr, "chosen_on": self.chosen_on}


LEAD_SMALL = "faces under the calibration's reliable width"
LEAD_WEAK = "evidence under the footage hit level"

# Chosen on the tune clip of bench/footage.py by bench/footage_rule.py (docs/benchmarks.md,
# issue 10): the hit level just above the tune part's strongest false track (one level for
# all widths: levels per width band, fitted to ~20 true tracks, did not hold on the
# held-out part). Leads start at the calibration's decision level: nothing a search
# returns is below it (lower lead levels would hold more appearances, see the docs).
# Re-chosen with the calibration fitted on the YuNet faces (lfw-20261202-11621f): 2.18
# (the HOG fit gave 2.21); the same appearances and no false span on either part.
TRACK_RULE = TrackRule(levels=((0.0, 2.18),), min_matched=1, lead_log10_lr=None,
                       chosen_on="bench/footage.py tune part, 2026-12-02 (calibration lfw-20261202-11621f)")


def track_distance(distances: np.ndarray, weights: np.ndarray) -> tuple[float, int, int]:
    """(score, index of the closest detection, how many were averaged) for one track."""
    score, best, m, _ = _top_mean(-np.asarray(distances, float), weights)
    return -score, best, m


def _top_mean(evidence: np.ndarray, weights: np.ndarray,
              distances: np.ndarray | None = None) -> tuple[float, int, int, np.ndarray]:
    """Quality-weighted mean of the strongest ceil(sqrt(n)) values of `evidence` (higher
    is stronger; ties, such as LRs held at the calibration's bound, go to the smaller
    distance): (mean, index of the strongest, how many, their indices)."""
    order = np.lexsort((distances if distances is not None else np.zeros(len(evidence)), -evidence))
    m = max(1, math.ceil(math.sqrt(len(evidence))))
    top = order[:m]
    w = np.maximum(weights[top], 1e-3)
    return float((evidence[top] * w).sum() / w.sum()), int(order[0]), m, top


@dataclass
class TrackDetections:
    """One track's detections as seen from a query: distances, quality weights, face
    ids, widths, sharpness and (YuNet) detector confidence, in database order."""

    track_id: int
    distances: np.ndarray
    weights: np.ndarray
    face_ids: list[int]
    widths: np.ndarray
    sharpness: list[float | None]
    confidence: list[float | None]


def gather_tracks(conn: sqlite3.Connection, query: np.ndarray,
                  exclude_tracks: set[int] | frozenset = frozenset()) -> list[TrackDetections]:
    """Every track's detections with their distance to `query` (exact, streamed in blocks)."""
    q = np.asarray(query, np.float64).reshape(EMBEDDING_DIM)
    per_track: dict[int, list[tuple[float, float, int, float, float | None, float | None]]] = defaultdict(list)
    cur = conn.execute("SELECT id, track_id, embedding, size, det_score, sharpness, low_quality, model FROM faces"
                       " WHERE track_id IS NOT NULL")
    while rows := cur.fetchmany(BLOCK):
        vecs = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), EMBEDDING_DIM)
        dist = np.sqrt(((vecs.astype(np.float64) - q) ** 2).sum(1))
        for r, d in zip(rows, dist):
            if r[1] not in exclude_tracks:
                conf = r[4] if "+yunet+" in (r[7] or "") else None  # HOG scores are not 0-1 confidences
                per_track[r[1]].append((float(d), quality(r[3], r[4], r[5], bool(r[6])), r[0], float(r[3]), r[5], conf))
    return [TrackDetections(tid, np.array([x[0] for x in dets]), np.array([x[1] for x in dets]),
                            [x[2] for x in dets], np.array([x[3] for x in dets]), [x[4] for x in dets],
                            [x[5] for x in dets]) for tid, dets in per_track.items()]


def track_evidence(t: TrackDetections, calibration, query_quality) -> tuple[float, int, int, np.ndarray, np.ndarray]:
    """(track log10 LR, index of the strongest detection, how many were averaged, their
    indices, every detection's log10 LR) for one track and a query face."""
    from forensics.faces.calibration import FaceQuality

    lr = np.array([calibration.log10_lr(d, query_quality, FaceQuality(w, s, c))
                   for d, w, s, c in zip(t.distances, t.widths, t.sharpness, t.confidence)])
    score, best, m, top = _top_mean(lr, t.weights, t.distances)
    return score, best, m, top, lr


def search_tracks(conn: sqlite3.Connection, query: np.ndarray, threshold: float | None,
                  exclude_tracks: set[int] | frozenset = frozenset(), calibration=None,
                  query_quality=None, min_log10_lr: float | None = None,
                  rule: "TrackRule | None" = None) -> list[TrackHit]:
    """Tracks that match `query`, best first: with `threshold`, those whose score
    distance is within it; otherwise (a `calibration` and the query face's quality
    given) those whose track evidence passes the footage `rule` (TRACK_RULE by default)
    at `min_log10_lr` (default: the calibration's decision level)."""
    floor = None
    if threshold is None:
        if calibration is None or query_quality is None:
            raise ValueError("search_tracks needs a threshold, or a calibration and the query's quality")
        floor = calibration.decision_log10_lr if min_log10_lr is None else float(min_log10_lr)
    rule = rule or TRACK_RULE
    own_level = None if min_log10_lr is None else float(min_log10_lr)
    hits = []
    for t in gather_tracks(conn, query, exclude_tracks):
        d, w = t.distances, t.weights
        if floor is None:
            score, best, m, top = _top_mean(-d, w)
            if -score <= threshold:
                hits.append(TrackHit(t.track_id, round(-score, 4), t.face_ids[best], round(float(d[best]), 4), m,
                                     len(d)))
            continue
        score, best, m, top, _ = track_evidence(t, calibration, query_quality)
        width = float(np.median(t.widths[top]))
        verdict = rule.verdict(score, m, width, calibration, own_level)
        if verdict is None:
            continue
        wt = np.maximum(w[top], 1e-3)
        hits.append(TrackHit(t.track_id, round(float((d[top] * wt).sum() / wt.sum()), 4), t.face_ids[best],
                             round(float(d[best]), 4), m, len(d), round(score, 2), verdict != "hit",
                             None if verdict == "hit" else verdict))
    if floor is None:
        return sorted(hits, key=lambda h: (h.distance, h.track_id))
    return sorted(hits, key=lambda h: (-(h.log10_lr or 0.0), h.distance, h.track_id))
