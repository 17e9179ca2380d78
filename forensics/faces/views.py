"""Read-only views of faces, tracks, persons and clusters as plain dicts."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from forensics.context import CaseContext
from forensics.model import CaseError
from forensics.store.queries import select_in

FACE_SQL = (
    "SELECT f.id, f.item_id, f.box_top, f.box_right, f.box_bottom, f.box_left, f.det_score, f.size, f.sharpness,"
    " f.low_quality, f.thumb, f.track_id, f.indexed, f.person_id, f.link, f.model, p.name AS person_name,"
    " p.kind AS person_kind, i.kind AS item_kind, i.parent_id, i.frame_time"
    " FROM faces f JOIN items i ON i.id = f.item_id LEFT JOIN persons p ON p.id = f.person_id"
)


class FaceViews:
    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx
        self.store = ctx.store

    def _face_dict(self, r) -> dict:
        item = self.ctx.catalogue.item(r["parent_id"] or r["item_id"])
        return {
            "id": r["id"], "item_id": r["item_id"], "video_id": r["parent_id"], "frame_time": r["frame_time"],
            "path": item["path"] if item else None, "kind": "video" if r["item_kind"] == "frame" else "image",
            "box": {"top": r["box_top"], "right": r["box_right"], "bottom": r["box_bottom"], "left": r["box_left"]},
            "det_score": r["det_score"], "size": r["size"], "sharpness": r["sharpness"],
            "low_quality": bool(r["low_quality"]), "thumb": str(self.ctx.paths.thumbs / r["thumb"]) if r["thumb"] else None,
            "track_id": r["track_id"], "indexed": bool(r["indexed"]), "person_id": r["person_id"],
            "person_name": r["person_name"], "person_kind": r["person_kind"], "link": r["link"], "model": r["model"],
        }

    def face(self, face_id: int) -> dict:
        r = self.store.read.execute(FACE_SQL + " WHERE f.id = ?", (face_id,)).fetchone()
        if r is None:
            raise CaseError(f"no face {face_id} in this case")
        return self._face_dict(r)

    def faces_of_item(self, item_id: int) -> list[dict]:
        """Faces of an image or frame (for a video: of all its frames), boxes in oriented pixels."""
        rows = self.store.query(FACE_SQL + " WHERE f.item_id = ? OR i.parent_id = ? ORDER BY i.frame_time, f.id",
                                (item_id, item_id))
        return [self._face_dict(r) for r in rows]

    def persons_of_items(self, item_ids: Iterable[int]) -> dict[int, list[dict]]:
        """Who appears on many items at once, by item id: per person or automatic cluster
        (`kind`), its name and how many of the item's faces (a video's: on its frames) link
        to it, confirmed, suggested or as cluster members. Items without one are left out."""
        ids = sorted({int(i) for i in item_ids})
        head = ("SELECT {owner} AS owner, p.id, p.name, p.kind, COUNT(*) AS faces, SUM(f.link = 'confirmed'),"
                " SUM(f.link = 'suggested') FROM faces f JOIN items i ON i.id = f.item_id JOIN persons p ON p.id = f.person_id"
                " WHERE {where} IN ({{ids}}) GROUP BY owner, p.id")
        found: dict[tuple[int, int], list] = {}
        # The faces on the item itself, then those on the frames of a video among the ids.
        for sql in (head.format(owner="f.item_id", where="f.item_id"), head.format(owner="i.parent_id", where="i.parent_id")):
            for r in select_in(self.store.read, sql, ids):
                key = (r[0], r[1])
                if key in found:
                    found[key][4:] = [found[key][4] + r[4], found[key][5] + (r[5] or 0), found[key][6] + (r[6] or 0)]
                else:
                    found[key] = [r[0], r[1], r[2], r[3], r[4], r[5] or 0, r[6] or 0]
        out: dict[int, list[dict]] = {}
        for owner, pid, name, kind, faces, confirmed, suggested in sorted(found.values(), key=lambda v: (v[0], -v[4], v[1])):
            out.setdefault(owner, []).append({"person_id": pid, "name": name, "kind": kind, "faces": faces,
                                              "confirmed": confirmed, "suggested": suggested})
        return out

    def face_thumb_path(self, face_id: int) -> Path:
        rel = self.store.scalar("SELECT thumb FROM faces WHERE id = ?", (face_id,))
        if rel is None:
            raise CaseError(f"no thumbnail for face {face_id}")
        return self.ctx.paths.thumbs / rel

    # -- tracks --------------------------------------------------------------
    def _track_dict(self, t) -> dict:
        best = self.store.read.execute(
            "SELECT f.item_id, f.person_id, p.name FROM faces f LEFT JOIN persons p ON p.id = f.person_id WHERE f.id = ?",
            (t["best_face_id"],)).fetchone()
        item = self.ctx.catalogue.item(t["video_id"])
        return {"id": t["id"], "video_id": t["video_id"], "path": item["path"] if item else None,
                "start": t["start_time"], "end": t["end_time"], "detections": t["detections"],
                "best_face_id": t["best_face_id"], "best_frame_item_id": best[0] if best else None,
                "person_id": best[1] if best else None, "person_name": best[2] if best else None}

    def track(self, track_id: int) -> dict:
        t = self.store.read.execute("SELECT * FROM face_tracks WHERE id = ?", (track_id,)).fetchone()
        if t is None:
            raise CaseError(f"no face track {track_id} in this case")
        return self._track_dict(t)

    def tracks_of_video(self, video_id: int) -> list[dict]:
        return [self._track_dict(t) for t in self.store.query(
            "SELECT * FROM face_tracks WHERE video_id = ? ORDER BY start_time, id", (video_id,))]

    # -- persons -------------------------------------------------------------
    def _summaries(self, kind: str, person_id: int | None = None) -> list[dict]:
        sql = ("SELECT p.id, p.name, p.kind, p.created_utc, p.created_by, COUNT(f.id) AS faces,"
               " SUM(f.link = 'confirmed') AS confirmed, SUM(f.link = 'suggested') AS suggested,"
               " COUNT(DISTINCT COALESCE(i.parent_id, i.id)) AS items"
               " FROM persons p LEFT JOIN faces f ON f.person_id = p.id LEFT JOIN items i ON i.id = f.item_id"
               " WHERE p.kind = ?" + (" AND p.id = ?" if person_id is not None else "") +
               " GROUP BY p.id ORDER BY faces DESC, p.id")
        args = (kind, person_id) if person_id is not None else (kind,)
        out = []
        for r in self.store.query(sql, args):
            reps = [x[0] for x in self.store.query(
                "SELECT id FROM faces WHERE person_id = ? AND indexed = 1 ORDER BY link = 'confirmed' DESC,"
                " low_quality, size * (1 + det_score) DESC LIMIT 4", (r["id"],))]
            out.append({"id": r["id"], "name": r["name"], "kind": r["kind"], "faces": r["faces"],
                        "confirmed": r["confirmed"] or 0, "suggested": r["suggested"] or 0, "items": r["items"],
                        "representative_face_ids": reps, "created_utc": r["created_utc"], "created_by": r["created_by"]})
        return out

    def persons(self) -> list[dict]:
        """Analysts' persons with face, confirmed, suggested and item counts."""
        return self._summaries("person")

    def clusters(self) -> list[dict]:
        """Automatic clusters not yet confirmed as persons."""
        return self._summaries("cluster")

    def person(self, person_id: int) -> dict:
        """A person or cluster with its appearances: photos, and video tracks with time spans."""
        row = self.store.read.execute("SELECT kind FROM persons WHERE id = ?", (person_id,)).fetchone()
        if row is None:
            raise CaseError(f"no person or cluster {person_id} in this case")
        d = self._summaries(row[0], person_id)[0]
        photos, tracks = [], {}
        for r in self.store.query(FACE_SQL + " WHERE f.person_id = ? ORDER BY f.id", (person_id,)):
            if r["track_id"] is not None:
                tracks.setdefault(r["track_id"], r["link"])
            else:
                f = self._face_dict(r)
                photos.append({k: f[k] for k in ("id", "item_id", "path", "box", "link", "thumb")} | {"face_id": f["id"]})
        d["photos"] = photos
        d["videos"] = [self.track(t) | {"link": link} for t, link in tracks.items()]
        return d

    def stats(self) -> dict:
        from forensics.faces.detect import model_version

        q = self.store.scalar
        return {
            "faces": q("SELECT COUNT(*) FROM faces"), "indexed_faces": q("SELECT COUNT(*) FROM faces WHERE indexed = 1"),
            "low_quality": q("SELECT COUNT(*) FROM faces WHERE low_quality = 1"),
            "items_analysed": q("SELECT COUNT(*) FROM face_analysis"),
            "items_failed": q("SELECT COUNT(*) FROM face_analysis WHERE error IS NOT NULL"),
            "tracks": q("SELECT COUNT(*) FROM face_tracks"),
            "persons": q("SELECT COUNT(*) FROM persons WHERE kind = 'person'"),
            "clusters": q("SELECT COUNT(*) FROM persons WHERE kind = 'cluster'"),
            "suggested": q("SELECT COUNT(*) FROM faces WHERE link = 'suggested'"),
            "model": model_version(),
        }
