"""The ingest hooks: detect in the worker, write in the writer, link tracks per video.

`detect_faces` runs in an ingest worker process on the full-resolution oriented pixels;
`write_faces` and `finish_video` run in the writer, inside its write transaction. The
search index is not touched here: it catches up with the database on the next search
(faces whose ids it lacks are added), so ingest stays fast and a kill -9 can never
leave the index ahead of the database.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from forensics.clock import utc_now
from forensics.faces.detect import FaceRecord, detect_faces, embedding_array
from forensics.faces.tracks import REPRESENTATIVES, Detection, link_tracks, max_gap, quality

__all__ = ["FaceRecord", "detect_faces", "detect_in_image", "write_faces", "finish_video", "face_thumb_relpath"]

FACE_THUMB_DIR = "faces"


def detect_in_image(data: bytes, options: dict | None = None, decoded=None) -> list[FaceRecord]:
    """Faces of an image file's bytes, boxes in its oriented full-resolution pixels.

    The one decode for detection: at full resolution up to MAX_WORK_PIXELS (64 MP), a
    huge image reduced by a whole factor (JPEG while decoding), so a worker's memory stays
    bounded (see forensics.media.image). `decoded` reuses an earlier full decode."""
    import dataclasses

    import numpy as np

    from forensics.media.image import open_image

    dec = decoded if decoded is not None and decoded.format != "JPEG" else open_image(data, draft=None)
    found = detect_faces(np.ascontiguousarray(np.asarray(dec.image, dtype=np.uint8)), options)
    k = dec.scale
    if k == 1.0:
        return found
    return [dataclasses.replace(f, top=round(f.top * k), right=round(f.right * k), bottom=round(f.bottom * k),
                                left=round(f.left * k), size=round(f.size * k)) for f in found]


def face_thumb_relpath(face_id: int) -> str:
    """Where a face thumbnail lives inside the case's thumbs/ folder (1000 per folder)."""
    return f"{FACE_THUMB_DIR}/{face_id // 1000:05d}/{face_id}.jpg"


def write_faces(w: sqlite3.Connection, item_id: int, faces: list[FaceRecord], thumbs: Path) -> list[int]:
    """Store an analysed image's or frame's faces (an empty list records "no faces"), their
    thumbnails under the case's `thumbs` folder.

    Call inside the writer's transaction. Idempotent: an item already analysed keeps
    its faces and their ids are returned, so a resumed ingest never duplicates faces."""
    if w.execute("SELECT 1 FROM face_analysis WHERE item_id = ?", (item_id,)).fetchone():
        return [r[0] for r in w.execute("SELECT id FROM faces WHERE item_id = ? ORDER BY id", (item_id,))]
    now = utc_now()
    ids: list[int] = []
    model = faces[0].model if faces else None
    for f in faces:
        cur = w.execute(
            "INSERT INTO faces (item_id, box_top, box_right, box_bottom, box_left, det_score, size, sharpness,"
            " low_quality, embedding, model, created_utc, seen_from, seen_to)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (item_id, f.top, f.right, f.bottom, f.left, f.det_score, f.size, f.sharpness, int(f.low_quality),
             f.embedding, f.model, now, getattr(f, "seen_from", None), getattr(f, "seen_to", None)),
        )
        fid = int(cur.lastrowid)
        rel = face_thumb_relpath(fid)
        path = thumbs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        # A rolled-back transaction may leave this file behind; the id is then reused and
        # the file overwritten, so a thumbnail never shows another face.
        path.write_bytes(f.thumb_jpeg)
        w.execute("UPDATE faces SET thumb = ? WHERE id = ?", (rel, fid))
        ids.append(fid)
    if model is None:
        from forensics.faces.detect import model_version

        model = model_version()
    w.execute("INSERT INTO face_analysis (item_id, faces, model, analysed_utc) VALUES (?, ?, ?, ?)",
              (item_id, len(ids), model, now))
    return ids


def record_failure(w: sqlite3.Connection, item_id: int, message: str) -> None:
    """Record that face analysis failed for an item (kept in face_analysis and item_errors)."""
    from forensics.faces.detect import model_version

    now = utc_now()
    w.execute("INSERT OR REPLACE INTO face_analysis (item_id, faces, model, analysed_utc, error) VALUES (?, 0, ?, ?, ?)",
              (item_id, model_version(), now, message))
    w.execute("INSERT INTO item_errors (item_id, stage, message, time_utc) VALUES (?, 'faces', ?, ?)",
              (item_id, message, now))


def finish_video(w: sqlite3.Connection, video_id: int) -> None:
    """Link the faces on a video's analysed frames into tracks (rebuilding any earlier
    tracks of that video). Only each track's best few detections stay in the search index.
    Person links live on the faces, so relinking never loses an analyst's decision."""
    frame_times = [r[0] for r in w.execute(
        "SELECT frame_time FROM items WHERE parent_id = ? AND frame_time IS NOT NULL", (video_id,))]
    rows = w.execute(
        "SELECT f.id, f.item_id, i.frame_time, f.box_top, f.box_right, f.box_bottom, f.box_left, f.embedding,"
        " f.size, f.det_score, f.sharpness, f.low_quality, f.seen_from, f.seen_to FROM faces f"
        " JOIN items i ON i.id = f.item_id WHERE i.parent_id = ? AND i.frame_time IS NOT NULL", (video_id,)).fetchall()
    w.execute("DELETE FROM face_tracks WHERE video_id = ?", (video_id,))
    if not rows:
        return
    dets = [Detection(r[0], r[1], float(r[2]), (r[3], r[4], r[5], r[6]), embedding_array(r[7]).astype("f8"),
                      quality(r[8], r[9], r[10], bool(r[11]))) for r in rows]
    from forensics.faces.select import DescribeRates

    # followed faces are described at least every `every` s (the default; ingest records the rates)
    seen = {r[0]: (r[12], r[13]) for r in rows if r[12] is not None and r[13] is not None}
    for track in link_tracks(dets, max_gap(frame_times, DescribeRates().every)):
        best = track.best(REPRESENTATIVES)
        # the span over which its followed faces were detected, described or not
        spans = [seen[d.face_id] for d in track.detections if d.face_id in seen]
        start = min([track.start] + [s[0] for s in spans])
        end = max([track.end] + [s[1] for s in spans])
        cur = w.execute(
            "INSERT INTO face_tracks (video_id, start_time, end_time, detections, best_face_id) VALUES (?, ?, ?, ?, ?)",
            (video_id, start, end, len(track.detections), best[0].face_id),
        )
        tid = cur.lastrowid
        rep_ids = {d.face_id for d in best}
        w.executemany("UPDATE faces SET track_id = ?, indexed = ? WHERE id = ?",
                      [(tid, int(d.face_id in rep_ids), d.face_id) for d in track.detections])
