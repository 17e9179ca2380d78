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
    distance: float  # the track's score: quality-weighted mean of its closest detections
    best_face_id: int  # the detection closest to the query
    best_distance: float
    matched: int  # how many detections were averaged
    detections: int


def track_distance(distances: np.ndarray, weights: np.ndarray) -> tuple[float, int, int]:
    """(score, index of the closest detection, how many were averaged) for one track."""
    order = np.argsort(distances, kind="stable")
    m = max(1, math.ceil(math.sqrt(len(distances))))
    top = order[:m]
    w = np.maximum(weights[top], 1e-3)
    return float((distances[top] * w).sum() / w.sum()), int(order[0]), m


def search_tracks(conn: sqlite3.Connection, query: np.ndarray, threshold: float,
                  exclude_tracks: set[int] | frozenset = frozenset()) -> list[TrackHit]:
    """Tracks whose score against `query` is within `threshold`, best first."""
    q = np.asarray(query, np.float64).reshape(EMBEDDING_DIM)
    per_track: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
    cur = conn.execute("SELECT id, track_id, embedding, size, det_score, sharpness, low_quality FROM faces"
                       " WHERE track_id IS NOT NULL")
    while rows := cur.fetchmany(BLOCK):
        vecs = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), EMBEDDING_DIM)
        dist = np.sqrt(((vecs.astype(np.float64) - q) ** 2).sum(1))
        for r, d in zip(rows, dist):
            if r[1] not in exclude_tracks:
                per_track[r[1]].append((float(d), quality(r[3], r[4], r[5], bool(r[6])), r[0]))
    hits = []
    for tid, dets in per_track.items():
        d = np.array([x[0] for x in dets])
        score, best, m = track_distance(d, np.array([x[1] for x in dets]))
        if score <= threshold:
            hits.append(TrackHit(tid, round(score, 4), dets[best][2], round(float(d[best]), 4), m, len(dets)))
    return sorted(hits, key=lambda h: (h.distance, h.track_id))
