"""`FaceService` (reached as `case.faces`): the faces API for the CLI, GUI and reports.

Ids in, plain dicts out. Face processing needs the case's legal authority; every
search, clustering run and person edit is written to the audit log with the examiner,
the query (face id or SHA-256 of the query image), the parameters (threshold, model and
version) and the result count.
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from forensics.context import CaseContext
from forensics.faces import persons as P
from forensics.faces.cluster import DEFAULT_K, DEFAULT_THRESHOLD
from forensics.faces.detect import embedding_array, model_version
from forensics.faces.index import FaceIndex
from forensics.faces.views import FaceViews
from forensics.model import CaseError, Progress
from forensics.store.queries import select_in

SEARCH_THRESHOLD = 0.6  # dlib's usual same-person tolerance
SEARCH_ACTIONS = ("faces.search", "faces.search.candidates")


def within_threshold(matches: list[dict], threshold: float) -> list[dict]:
    """The matches of a search (nearest first) at or below `threshold`: a search run at a
    loose threshold is narrowed without searching again (the workbench's slider)."""
    return [m for m in matches if m["distance"] <= threshold]


class FaceService(FaceViews):
    def __init__(self, ctx: CaseContext) -> None:
        super().__init__(ctx)
        self._index: FaceIndex | None = None
        self._lock = threading.Lock()

    # -- plumbing --------------------------------------------------------------
    def _require_authority(self) -> None:
        self.ctx.require_authority("face processing")

    @property
    def index(self) -> FaceIndex:
        with self._lock:
            if self._index is None:
                self._index = FaceIndex(self.ctx.paths.index, lambda: self.store.read, model_version())
            return self._index

    def _audit(self, w, action: str, params: dict, result: dict) -> None:
        self.ctx.audit(w, action, {**params, "model": model_version()}, result)

    # -- analysis --------------------------------------------------------------
    def analyze(self, item_ids: list[int] | None = None, progress: Callable[[Progress], None] | None = None,
                cancel: threading.Event | None = None, options: dict | None = None, workers: int = 1,
                cluster=None) -> dict:
        """Detect and embed faces in catalogued images and frames that lack them (resumable).
        `workers` > 1 detects images in that many processes; `cluster` (a ClusterSpec) runs
        photos and videos on Dask workers instead."""
        from forensics.faces.analyze import analyze_items

        self._require_authority()
        result = analyze_items(self.ctx, item_ids, options, progress, cancel, workers, cluster=cluster)
        params = {"items": item_ids, "options": options or {}, "model": model_version()}
        if cluster is not None:
            params["cluster"] = cluster.as_dict()
        self.ctx.log("faces.analyze", params, result)
        return result

    def reindex(self) -> dict:
        """Rebuild the search index from the database."""
        self._require_authority()
        result = self.index.rebuild()
        self.ctx.log("faces.reindex", {"model": model_version()}, result)
        return result

    # -- search ----------------------------------------------------------------
    def query_faces(self, image_path: str | Path) -> tuple[str, list]:
        """SHA-256 and the faces of a query photo, numbered largest first."""
        from forensics.faces.detect import detect_faces
        from forensics.media.image import open_image

        data = Path(image_path).read_bytes()
        faces = detect_faces(np.asarray(open_image(data, draft=None).image, dtype=np.uint8))
        return hashlib.sha256(data).hexdigest(), sorted(faces, key=lambda f: (-f.size, f.left, f.top))

    def search(self, image_path: str | Path | None = None, face_id: int | None = None, face_index: int = 0,
               top: int | None = None, threshold: float = SEARCH_THRESHOLD, offset: int = 0,
               limit: int | None = None, action: str = "faces.search") -> dict:
        """Every appearance of the query face within `threshold` (euclidean), nearest
        first: photos as faces, videos as tracks with their time span and best frame.

        All of them are found and counted (`total`); `matches` is the page from `offset`
        of at most `limit` (or `top`; all when neither is given), and `more` says how many
        follow it. `action` is `faces.search`, or `faces.search.candidates` for a front
        end that fetches candidates to filter live and audits what it shows separately."""
        self._require_authority()
        if action not in SEARCH_ACTIONS:
            raise CaseError(f"unknown search action {action!r}")
        if (image_path is None) == (face_id is None):
            raise CaseError("search needs exactly one of a query photo or a face id")
        query, vec, exclude = self._query(image_path, face_id, face_index)
        matches = self._group_matches(self._within(vec, threshold, exclude))
        page_size = limit if limit is not None else top
        offset = max(0, int(offset))
        page = matches[offset:offset + page_size] if page_size is not None else matches[offset:]
        params = {**{k: v for k, v in query.items() if k in ("face_id", "sha256", "face_index")},
                  "threshold": threshold, "top": page_size, "offset": offset}
        with self.store.write() as w:
            self._audit(w, action, params, {"matches": len(matches)})
        return {"query": query, "threshold": threshold, "top": page_size, "offset": offset, "total": len(matches),
                "photos": sum(m["kind"] == "image" for m in matches),
                "video_tracks": sum(m["kind"] == "video" for m in matches),
                "more": max(0, len(matches) - offset - len(page)), "model": model_version(),
                "index": "hnsw" if self.index.uses_hnsw() else "exact", "matches": page}

    def record_view(self, query: dict, threshold: float, shown: int, photos: int, video_tracks: int) -> None:
        """Audit what a front end showed once the examiner settled on a threshold: the
        threshold and the number of appearances on screen (as `faces.search`)."""
        params = {**{k: v for k, v in query.items() if k in ("face_id", "sha256", "face_index")},
                  "threshold": threshold, "settled": True}
        with self.store.write() as w:
            self._audit(w, "faces.search", params, {"matches": shown, "photos": photos, "video_tracks": video_tracks})

    def _query(self, image_path: str | Path | None, face_id: int | None,
               face_index: int) -> tuple[dict[str, Any], np.ndarray, set[int]]:
        """The query's description for the audit, its embedding, and faces not to return."""
        if face_id is not None:
            row = self.store.read.execute("SELECT embedding, track_id FROM faces WHERE id = ?", (face_id,)).fetchone()
            if row is None:
                raise CaseError(f"no face {face_id} in this case")
            # the query itself, and the rest of its own video track, are not "other appearances"
            exclude = {face_id} | ({r[0] for r in self.store.query("SELECT id FROM faces WHERE track_id = ?", (row[1],))}
                                   if row[1] is not None else set())
            return {"face_id": face_id}, embedding_array(row[0]), exclude
        sha, faces = self.query_faces(image_path)
        query: dict[str, Any] = {"image": str(image_path), "sha256": sha, "faces_in_image": len(faces),
                                 "face_index": face_index}
        if not faces:
            raise CaseError(f"no face found in {image_path}")
        if not 0 <= face_index < len(faces):
            raise CaseError(f"{image_path} has {len(faces)} face(s); --face must be 0..{len(faces) - 1}")
        f = faces[face_index]
        query["box"] = {"top": f.top, "right": f.right, "bottom": f.bottom, "left": f.left}
        return query, f.vector(), set()

    def _within(self, vec: np.ndarray, threshold: float, exclude: set[int]) -> list:
        """Every indexed face within `threshold`, nearest first: k grows until the farthest
        neighbour is beyond the threshold or the index is exhausted, so no count caps it."""
        k = 64 + len(exclude)
        while True:
            neighbours = self.index.search(vec, k=k)
            if len(neighbours) < k or not neighbours or neighbours[-1].distance > threshold:
                return [n for n in neighbours if n.face_id not in exclude and n.distance <= threshold]
            k *= 4

    def _group_matches(self, neighbours: list) -> list[dict]:
        """Photo faces stay single matches; video detections fold into their track."""
        out: list[dict] = []
        seen_tracks: set[int] = set()
        for n in neighbours:  # nearest first
            f = self.face(n.face_id)
            if f["track_id"] is not None:
                if f["track_id"] in seen_tracks:
                    continue
                seen_tracks.add(f["track_id"])
                t = self.track(f["track_id"])
                out.append({"face_id": n.face_id, "distance": round(n.distance, 4), "kind": "video",
                            "item_id": t["video_id"], "path": t["path"], "frame_item_id": f["item_id"],
                            "frame_time": f["frame_time"], "track_id": t["id"], "start": t["start"], "end": t["end"],
                            "best_frame_item_id": t["best_frame_item_id"], "best_face_id": t["best_face_id"],
                            "box": f["box"], "person_id": f["person_id"], "person_name": f["person_name"],
                            "link": f["link"]})
            else:
                out.append({"face_id": n.face_id, "distance": round(n.distance, 4), "kind": "image",
                            "item_id": f["item_id"], "path": f["path"], "box": f["box"],
                            "person_id": f["person_id"], "person_name": f["person_name"], "link": f["link"]})
        return out

    # -- clustering --------------------------------------------------------------
    def cluster(self, threshold: float = DEFAULT_THRESHOLD, k: int = DEFAULT_K) -> dict:
        """Group faces into clusters; suggest new faces to analysts' persons. Confirmed
        links and rejections are obeyed, never changed."""
        import time

        self._require_authority()
        t0 = time.monotonic()
        knn = self.index.knn_all(k)
        with self.store.write() as w:
            run = P.run_clustering(w, knn, threshold, self.ctx.examiner)
            result = {**run.__dict__, "seconds": round(time.monotonic() - t0, 2)}
            self._audit(w, "faces.cluster", {"threshold": threshold, "k": k}, result)
        return result

    # -- person edits --------------------------------------------------------------
    def _edit(self, action: str, params: dict, fn: Callable[[Any], Any]) -> Any:
        self._require_authority()
        with self.store.write() as w:
            out = fn(w)
            self._audit(w, action, params, {"result": out})
        return out

    def create_person_from_cluster(self, cluster_id: int, name: str | None = None,
                                   exclude_face_ids: list[int] | tuple = ()) -> dict:
        """Confirm an automatic cluster as a person (optionally leaving some faces out)."""
        self._edit("persons.create", {"cluster_id": cluster_id, "name": name, "exclude": list(exclude_face_ids)},
                   lambda w: P.cluster_to_person(w, cluster_id, name, list(exclude_face_ids), self.ctx.examiner))
        return self.person(cluster_id)

    def name_person(self, person_id: int, name: str) -> dict:
        """Name a person; naming a cluster confirms it as a person."""
        kind = P.person_row(self.store.read, person_id)["kind"]
        if kind == "cluster":
            return self.create_person_from_cluster(person_id, name)
        return self.rename(person_id, name)

    def rename(self, person_id: int, name: str) -> dict:
        def fn(w):
            P.person_row(w, person_id)
            w.execute("UPDATE persons SET name = ? WHERE id = ?", (name, person_id))
            return person_id
        self._edit("persons.rename", {"person_id": person_id, "name": name}, fn)
        return self.person(person_id)

    def merge(self, target_id: int, source_ids: list[int]) -> dict:
        """Merge persons/clusters into `target_id` (an analyst decision: faces become confirmed)."""
        self._edit("persons.merge", {"target": target_id, "sources": list(source_ids)},
                   lambda w: P.merge(w, target_id, list(source_ids)))
        return self.person(target_id)

    def split(self, face_ids: list[int], name: str | None = None) -> dict:
        """Move faces (whole tracks) out of their person into a new confirmed person."""
        def fn(w):
            faces = P.unit_faces(w, face_ids)
            for pid in {r[0] for r in select_in(
                    w, "SELECT DISTINCT person_id FROM faces WHERE person_id IS NOT NULL AND id IN ({ids})", faces)}:
                P.reject(w, pid, faces, self.ctx.examiner)
            new = P.new_person(w, name, self.ctx.examiner)
            P.confirm(w, new, faces)
            return new
        new_id = self._edit("persons.split", {"faces": list(face_ids), "name": name}, fn)
        return self.person(new_id)

    def remove_face(self, face_id: int) -> dict:
        """Take a face (its whole track) out of its person; it stays out on re-clustering."""
        def fn(w):
            row = w.execute("SELECT person_id FROM faces WHERE id = ?", (face_id,)).fetchone()
            if row is None or row[0] is None:
                raise CaseError(f"face {face_id} does not belong to a person")
            P.reject(w, row[0], [face_id], self.ctx.examiner)
            return row[0]
        pid = self._edit("persons.remove_face", {"face_id": face_id}, fn)
        return {"face_id": face_id, "removed_from": pid}

    def confirm_suggestion(self, face_id: int) -> dict:
        def fn(w):
            row = w.execute("SELECT person_id, link FROM faces WHERE id = ?", (face_id,)).fetchone()
            if row is None or row[1] not in ("suggested", "cluster") or row[0] is None:
                raise CaseError(f"face {face_id} has no suggestion to confirm")
            if P.person_row(w, row[0])["kind"] != "person":
                raise CaseError(f"face {face_id} is in an unnamed cluster; name the cluster to confirm it")
            P.confirm(w, row[0], [face_id])
            return row[0]
        return {"face_id": face_id, "person_id": self._edit("persons.confirm", {"face_id": face_id}, fn)}

    def reject_suggestion(self, face_id: int) -> dict:
        def fn(w):
            row = w.execute("SELECT person_id, link FROM faces WHERE id = ?", (face_id,)).fetchone()
            if row is None or row[1] not in ("suggested", "cluster") or row[0] is None:
                raise CaseError(f"face {face_id} has no suggestion to reject")
            P.reject(w, row[0], [face_id], self.ctx.examiner)
            return row[0]
        return {"face_id": face_id, "rejected_from": self._edit("persons.reject", {"face_id": face_id}, fn)}
