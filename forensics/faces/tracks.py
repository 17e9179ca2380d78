"""Linking face detections on a video's sampled frames into tracks.

A track is one person's run of detections over consecutive samples. Detections are
linked greedily, best match first, when the face looks the same (embedding distance)
and, for looser embedding matches, stays in the same place (box overlap). A track keeps
its few best-quality detections as its searchable embeddings, not one per frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Same person, same shot: consecutive detections are far closer than this.
LINK_DISTANCE = 0.5
# With a clear box overlap, a blurrier or turned face may still join the track.
LINK_DISTANCE_OVERLAP = 0.6
LINK_IOU = 0.3
REPRESENTATIVES = 3


@dataclass(frozen=True)
class Detection:
    face_id: int
    frame_id: int
    time: float
    box: tuple[int, int, int, int]  # top, right, bottom, left
    vector: np.ndarray
    quality: float


@dataclass
class Track:
    detections: list[Detection] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.detections[0].time

    @property
    def end(self) -> float:
        return self.detections[-1].time

    def best(self, n: int = 1) -> list[Detection]:
        return sorted(self.detections, key=lambda d: -d.quality)[:n]


def quality(size: int, det_score: float, sharpness: float, low_quality: bool) -> float:
    """A rank for picking a track's best frames: large, confidently detected, sharp faces."""
    q = min(size, 200) / 200 * (1.0 + max(-0.5, min(det_score, 3.0))) * min(sharpness, 1500.0) / 1500.0
    return q * (0.1 if low_quality else 1.0)


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    top, bottom = max(a[0], b[0]), min(a[2], b[2])
    left, right = max(a[3], b[3]), min(a[1], b[1])
    inter = max(0, bottom - top) * max(0, right - left)
    union = (a[2] - a[0]) * (a[1] - a[3]) + (b[2] - b[0]) * (b[1] - b[3]) - inter
    return inter / union if union > 0 else 0.0


def max_gap(frame_times: list[float], described_every: float = 0.0) -> float:
    """How long a track may go undetected: three and a half sampling intervals (HOG misses
    turned or blurred faces for a few samples; the embedding check keeps links honest),
    and at least 1.75 times `described_every`, the longest a followed face may go without
    a described (stored) detection (forensics.faces.select)."""
    times = sorted(set(frame_times))
    if len(times) < 2:
        return max(1.0, 1.75 * described_every)
    interval = float(np.median(np.diff(times)))
    return max(0.5, 3.5 * interval, 1.75 * described_every)


def link_tracks(detections: list[Detection], gap: float) -> list[Track]:
    """Group detections (any order) into tracks. Two detections of one frame never share a track."""
    by_time: dict[tuple[float, int], list[Detection]] = {}
    for d in detections:
        by_time.setdefault((d.time, d.frame_id), []).append(d)
    tracks: list[Track] = []
    active: list[Track] = []
    for (t, _), dets in sorted(by_time.items()):
        active = [tr for tr in active if t - tr.end <= gap + 1e-6]
        candidates: list[tuple[float, int, int]] = []
        for ti, tr in enumerate(active):
            last = tr.detections[-1]
            refs = [last.vector] + [b.vector for b in tr.best(2)]
            for di, d in enumerate(dets):
                dist = min(float(np.linalg.norm(d.vector - r)) for r in refs)
                if dist < LINK_DISTANCE or (dist < LINK_DISTANCE_OVERLAP and iou(d.box, last.box) >= LINK_IOU):
                    candidates.append((dist, ti, di))
        used_t: set[int] = set()
        used_d: set[int] = set()
        for dist, ti, di in sorted(candidates):
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            active[ti].detections.append(dets[di])
        for di, d in enumerate(dets):
            if di not in used_d:
                tr = Track([d])
                tracks.append(tr)
                active.append(tr)
    return tracks
