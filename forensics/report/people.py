"""Persons for the report: who is selected, and each appearance in photos and videos.

The face service (`FaceService`) owns persons and tracks; this module reads what it
returns (`FaceService.person`) into rows a template can print. Field names are read as
the service returns them: a renamed field fails the report tests instead of printing
"unavailable". A failing service makes the section unavailable, never the export.
"""
from __future__ import annotations

from forensics.model import describe_error
from forensics.report.sources import ReportSources
from forensics.store.queries import select_in


def appearances(src: ReportSources, person: dict) -> list[dict]:
    """Every appearance of a person as rows: photos (item, face) and video tracks (video
    item, start and end seconds, a representative frame item), in item order."""
    rows: list[dict] = []
    for p in person["photos"]:
        rows.append({"kind": "photo", "item_id": int(p["item_id"]), "face_id": p["face_id"],
                     "start": None, "end": None, "frame_item_id": None, "faces": 1})
    for v in person["videos"]:
        rows.append({"kind": "video", "item_id": int(v["video_id"]), "face_id": v["best_face_id"],
                     "track_id": v["id"], "start": float(v["start"]), "end": float(v["end"]),
                     "frame_item_id": v["best_frame_item_id"], "faces": v["detections"]})
    # A face on a video frame not (yet) linked into a track is an appearance in its video.
    frame_parent = {r[0]: (r[1], r[2]) for r in select_in(
        src.ctx.store.read, "SELECT id, parent_id, frame_time FROM items WHERE kind = 'frame' AND id IN ({ids})",
        [r["item_id"] for r in rows if r["kind"] == "photo"])}
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


def selected_persons(src: ReportSources, selection) -> tuple[list[dict], str | None]:
    """Persons to report: the one asked for with person:ID, otherwise every named person
    who appears in at least one selected item. Returns (persons, unavailable-reason)."""
    try:
        faces = src.faces
        if selection.person_ids is not None:
            wanted = list(selection.person_ids)
        else:
            wanted = [p["id"] for p in faces.persons() if p["name"]]
        selected = set(selection.item_ids)
        out = []
        for pid in wanted:
            person = faces.person(pid)
            rows = appearances(src, person)
            if selection.person_ids is None and not any(r["item_id"] in selected for r in rows):
                continue
            out.append({"id": pid, "name": person["name"] or f"person {pid}", "face_ids": _face_ids(person, rows),
                        "face_count": person["faces"], "appearances": rows})
        return out, None
    except (KeyError, AttributeError, TypeError, NameError):
        raise  # a field read under the wrong name: fail, never report "unavailable"
    except Exception as exc:  # a failing service: the report must still be produced
        return [], f"persons unavailable: {describe_error(exc)}"


def _face_ids(person: dict, rows: list[dict]) -> list[int]:
    """Face ids to show: the service's representatives first, then one per appearance."""
    ids = [int(f) for f in person["representative_face_ids"]]
    ids += [int(r["face_id"]) for r in rows if r["face_id"] is not None]
    return list(dict.fromkeys(ids))
