"""Persons for the report: who is selected, and each appearance in photos and videos.

The face service (`case.faces`) owns persons and tracks; this module only reads it and
normalises what it returns into rows a template can print, so the report survives small
differences in field names and states the section as unavailable if the service fails.
"""
from __future__ import annotations

from typing import Any

from forensics.model import describe_error

def _get(d: dict, *names: str, default: Any = None) -> Any:
    for n in names:
        if n in d and d[n] is not None:
            return d[n]
    return default


def appearances(case, person: dict) -> list[dict]:
    """Every appearance of a person as rows: photos (item, face) and video tracks (video
    item, start and end seconds, a representative frame item), in item order."""
    rows: list[dict] = []
    raw_photos = list(_get(person, "photos", default=[]))
    raw_videos = list(_get(person, "videos", "tracks", default=[]))
    for a in _get(person, "appearances", default=[]):
        kind = _get(a, "kind", "type", default="photo")
        (raw_videos if kind in ("video", "track") else raw_photos).append(a)
    for p in raw_photos:
        item_id = _get(p, "item_id", "id")
        if item_id is None:
            continue
        rows.append({"kind": "photo", "item_id": int(item_id), "face_id": _get(p, "face_id"),
                     "start": None, "end": None, "frame_item_id": None, "faces": _get(p, "faces", "count", default=1)})
    for v in raw_videos:
        video_id = _get(v, "video_id", "item_id")
        if video_id is None:
            continue
        start, end = _get(v, "start_time", "start"), _get(v, "end_time", "end")
        rows.append({"kind": "video", "item_id": int(video_id), "face_id": _get(v, "best_face_id", "face_id"),
                     "track_id": _get(v, "track_id", "id"),
                     "start": float(start) if start is not None else None,
                     "end": float(end) if end is not None else None,
                     "frame_item_id": _get(v, "frame_item_id", "best_frame_item_id", "frame_id"),
                     "faces": _get(v, "detections", "faces", default=None)})
    # A frame reported as a "photo" is an appearance in its video.
    frame_parent = {}
    frame_ids = [r["item_id"] for r in rows if r["kind"] == "photo"]
    for i in range(0, len(frame_ids), 500):
        chunk = frame_ids[i:i + 500]
        for r in case.store.query(
                f"SELECT id, parent_id, frame_time FROM items WHERE kind = 'frame' AND id IN ({','.join('?' * len(chunk))})",
                tuple(chunk)):
            frame_parent[r[0]] = (r[1], r[2])
    for r in rows:
        if r["item_id"] in frame_parent:
            parent, t = frame_parent[r["item_id"]]
            r.update(kind="video", frame_item_id=r["item_id"], item_id=parent, start=t, end=t)
    rows.sort(key=lambda r: (r["item_id"], r["start"] or 0.0))
    return rows


def format_seconds(t: float | None) -> str:
    """Seconds as H:MM:SS.mmm, the way examiners cite a moment of a video."""
    if t is None:
        return ""
    ms = int(round(t * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h}:{m:02d}:{s:02d}.{ms:03d}"


def selected_persons(case, selection) -> tuple[list[dict], str | None]:
    """Persons to report: the one asked for with person:ID, otherwise every named person
    who appears in at least one selected item. Returns (persons, unavailable-reason)."""
    try:
        faces = case.faces
        if selection.person_ids is not None:
            wanted = list(selection.person_ids)
        else:
            wanted = [int(_get(p, "id", "person_id")) for p in faces.persons()
                      if _get(p, "name") and _get(p, "kind", default="person") != "cluster"]
        selected = set(selection.item_ids)
        out = []
        for pid in wanted:
            person = faces.person(pid)
            if not person:
                continue
            rows = appearances(case, person)
            if selection.person_ids is None and not any(r["item_id"] in selected for r in rows):
                continue
            out.append({"id": pid, "name": _get(person, "name", default=f"person {pid}"),
                        "note": _get(person, "note"), "face_ids": _face_ids(person, rows),
                        "face_count": _face_count(person, rows),
                        "appearances": rows})
        return out, None
    except Exception as exc:  # the report must still be produced
        return [], f"persons unavailable: {describe_error(exc)}"


def _face_count(person: dict, rows: list[dict]) -> int:
    n = _get(person, "face_count", "faces")
    return n if isinstance(n, int) else len(_face_ids(person, rows))


def _face_ids(person: dict, rows: list[dict]) -> list[int]:
    """Face ids to show: the service's representatives first, then one per appearance."""
    faces = _get(person, "faces", default=None)
    ids: list[int] = [int(f) for f in _get(person, "representative_face_ids", default=[])]
    if isinstance(faces, list):
        for f in faces:
            fid = f if isinstance(f, int) else _get(f, "face_id", "id")
            if fid is not None:
                ids.append(int(fid))
    ids += [int(r["face_id"]) for r in rows if r["face_id"] is not None]
    return list(dict.fromkeys(ids))
