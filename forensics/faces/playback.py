"""Playing a video hit back: decoded frames of a track's span with the face box on each.

Frames are decoded here, in the core, through the one read-only video opener
(forensics.media.video.open_video), so no front end ever reads evidence itself. The
face box on frames between two detections is interpolated from them, and carried on at
their motion to the track's start and end where the face was seen between described
detections; on frames before the track starts (the lead-in) there is none.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import numpy as np

Box = tuple[int, int, int, int]  # top, right, bottom, left


@dataclass(frozen=True)
class PlaybackFrame:
    time: float  # seconds from the start of the video
    image: np.ndarray  # RGB uint8, possibly downscaled for display (see `scale`)
    box: Box | None  # the face box in this frame's (scaled) pixels
    detected: bool  # True on a frame the face was actually detected on (not interpolated)


@dataclass
class Playback:
    track_id: int
    video_id: int
    start: float  # the track's span
    end: float
    fps: float
    scale: float  # displayed pixels per video pixel
    frames: list[PlaybackFrame] = field(default_factory=list)
    best_faces: list[dict] = field(default_factory=list)  # face_id, time, quality: the strip
    truncated: bool = False  # the span was longer than max_frames


def track_detections(conn: sqlite3.Connection, track_id: int) -> list[tuple[float, Box, int]]:
    """(time, box, face id) of every detection of a track, in time order."""
    rows = conn.execute(
        "SELECT i.frame_time, f.box_top, f.box_right, f.box_bottom, f.box_left, f.id FROM faces f"
        " JOIN items i ON i.id = f.item_id WHERE f.track_id = ? ORDER BY i.frame_time, f.id", (track_id,)).fetchall()
    return [(float(r[0]), (r[1], r[2], r[3], r[4]), r[5]) for r in rows]


def box_at(dets: list[tuple[float, Box, int]], t: float, tol: float = 0.02,
           span: tuple[float, float] | None = None) -> tuple[Box | None, bool]:
    """The face box at time t: a detection's own box, or one interpolated between the two
    detections around t; None outside the detections' span, or outside `span` (the
    track's, which may reach past its described detections: forensics.faces.select),
    where the box is carried on at the first or last detections' motion."""
    if dets and span is not None and span[0] - tol <= t < dets[0][0] - tol:
        return _carried(dets[0], dets[1] if len(dets) > 1 else dets[0], t), False
    if dets and span is not None and dets[-1][0] + tol < t <= span[1] + tol:
        return _carried(dets[-1], dets[-2] if len(dets) > 1 else dets[-1], t), False
    if not dets or t < dets[0][0] - tol or t > dets[-1][0] + tol:
        return None, False
    for (t0, b0, _), (t1, b1, _) in zip(dets, dets[1:] + [dets[-1]]):
        if abs(t - t0) <= tol:
            return b0, True
        if t0 < t < t1:
            u = (t - t0) / (t1 - t0)
            return tuple(int(round(a + u * (b - a))) for a, b in zip(b0, b1)), False  # type: ignore[return-value]
    return dets[-1][1], abs(t - dets[-1][0]) <= tol


def _carried(a: tuple[float, Box, int], b: tuple[float, Box, int], t: float) -> Box:
    """Detection a's box moved on to time t at the speed from b to a (held if one detection)."""
    (ta, ba, _), (tb, bb, _) = a, b
    if ta == tb:
        return ba
    u = (t - ta) / (ta - tb)
    return tuple(int(round(x + u * (x - y))) for x, y in zip(ba, bb))  # type: ignore[return-value]


def decode_span(path: bytes | str, start: float, end: float, max_frames: int, max_side: int):
    """Yield (time, RGB array, scale) for every frame from `start` to `end` seconds
    (times from the stream's start, as ingest counts them), opened read-only."""
    from forensics.media.video import open_video

    c = open_video(path)
    try:
        vs = next(s for s in c.streams if s.type == "video")
        vs.thread_type = "AUTO"
        t0 = float(vs.start_time * vs.time_base) if vs.start_time is not None and vs.time_base else 0.0
        if start > 1.0 and vs.time_base:
            c.seek(int((start + t0 - 1.0) / vs.time_base), stream=vs, backward=True, any_frame=False)
        n = 0
        for frame in c.decode(vs):
            if frame.time is None:
                continue
            t = float(frame.time) - t0
            if t < start - 1e-3:
                continue
            if t > end + 1e-3 or n >= max_frames:
                break
            scale = min(1.0, max_side / max(frame.width, frame.height))
            if scale < 1.0:
                frame = frame.reformat(width=round(frame.width * scale) // 2 * 2,
                                       height=round(frame.height * scale) // 2 * 2)
            yield t, frame.to_ndarray(format="rgb24"), scale
            n += 1
    finally:
        c.close()
