"""`FaceService` (reached as `case.faces`): the faces API for the CLI, GUI and reports.

Ids in, plain dicts out. Face processing needs the case's legal authority; every
search, clustering run and person edit is written to the audit log with the examiner,
the query (face id or SHA-256 of the query image), the parameters (threshold, model and
version) and the result count.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from forensics.context import CaseContext
from forensics.faces import persons as P
from forensics.faces.cluster import DEFAULT_K
from forensics.faces.detect import embedding_array, embedding_version, model_version
from forensics.faces.index import FaceIndex
from forensics.faces.views import FaceViews
from forensics.model import CaseError, Progress
from forensics.store.queries import select_in

SEARCH_ACTIONS = ("faces.search", "faces.search.candidates")


def within_threshold(matches: list[dict], threshold: float) -> list[dict]:
    """The matches of a search (nearest first) at or below `threshold`: a search run at a
    loose threshold is narrowed without searching again (the workbench's slider)."""
    return [m for m in matches if m["distance"] <= threshold]


# How a face search's matches can be ordered (the workbench's sort choice).
MATCH_ORDERS = {
    "Strongest evidence (LR)": lambda m: (-m["log10_lr"], m["distance"]),
    "Distance": lambda m: (m["distance"], -m["log10_lr"]),
    "File": lambda m: (m.get("path") or "", m.get("start") or 0.0),
}


def with_evidence(matches: list[dict], min_log10_lr: float, order: str = "Strongest evidence (LR)") -> list[dict]:
    """The matches whose calibrated log10 LR reaches `min_log10_lr`, in `order` (one of
    MATCH_ORDERS): a search collected at a loose distance, narrowed without searching again."""
    return sorted((m for m in matches if m["log10_lr"] >= min_log10_lr), key=MATCH_ORDERS[order])


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
                self._index = FaceIndex(self.ctx.paths.index, lambda: self.store.read, embedding_version())
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
        from forensics.faces.pipeline import detect_in_image

        data = Path(image_path).read_bytes()
        faces = detect_in_image(data)
        return hashlib.sha256(data).hexdigest(), sorted(faces, key=lambda f: (-f.size, f.left, f.top))

    def search(self, image_path: str | Path | None = None, face_id: int | None = None, face_index: int = 0,
               top: int | None = None, threshold: float | None = None, offset: int = 0,
               limit: int | None = None, action: str = "faces.search", min_log10_lr: float | None = None) -> dict:
        """Every appearance of the query face, strongest evidence first: photos as faces,
        videos as tracks with their time span and best frame.

        Each hit carries its distance and the calibrated likelihood ratio for the sizes of
        both faces (`log10_lr`, `verbal` on the ENFSI 2015 scale, `band`, and `lead` for a
        face too small for the calibration). By default a hit is kept when its log10 LR
        reaches `min_log10_lr` (the calibration's decision level unless given); with an
        explicit `threshold` every face within that euclidean distance is kept instead.
        All of them are found and counted (`total`); `matches` is the page from `offset`
        of at most `limit` (or `top`; all when neither is given), and `more` says how many
        follow it. `action` is `faces.search`, or `faces.search.candidates` for a front
        end that fetches candidates to filter live and audits what it shows separately."""
        from forensics.faces.calibration import FaceQuality, load_calibration

        self._require_authority()
        if action not in SEARCH_ACTIONS:
            raise CaseError(f"unknown search action {action!r}")
        if (image_path is None) == (face_id is None):
            raise CaseError("search needs exactly one of a query photo or a face id")
        cal = load_calibration()
        query, vec, exclude, qq = self._query(image_path, face_id, face_index)
        query["size"], query["reliable"] = qq.width_px, cal.reliable(qq)
        radius = float(threshold) if threshold is not None else cal.search_radius()
        floor = None if threshold is not None else (cal.decision_log10_lr if min_log10_lr is None else min_log10_lr)
        from forensics.faces.track_search import TRACK_RULE, search_tracks

        scored = []
        for n in self._within(vec, radius, exclude):
            face = self.face(n.face_id)
            if face["track_id"] is not None:
                continue  # video detections are scored per track, on all of them (below)
            lr = cal.describe(n.distance, qq, FaceQuality.from_face(face))
            if floor is None or lr["log10_lr"] >= floor:
                scored.append((n, face, lr))
        own_track: set[int] = set()
        if face_id is not None and (tid := self.face(face_id)["track_id"]) is not None:
            own_track = {tid}
        # the examiner's own level applies to tracks as given; by default the footage rule decides
        tracks = search_tracks(self.store.read, vec, threshold, own_track, cal, qq, min_log10_lr)
        matches = self._group_matches(scored) + [self._track_match(h, cal, qq) for h in tracks]
        # strongest evidence first (with an explicit threshold: nearest first)
        matches.sort(key=lambda m: ((m["distance"],) if threshold is not None else (-m["log10_lr"], m["distance"]))
                     + (m["face_id"],))
        repairs = self.index.take_repairs()
        page_size = limit if limit is not None else top
        offset = max(0, int(offset))
        page = matches[offset:offset + page_size] if page_size is not None else matches[offset:]
        params = {**{k: v for k, v in query.items() if k in ("face_id", "sha256", "face_index")},
                  "threshold": threshold, "min_log10_lr": floor, "calibration": cal.version,
                  "track_rule": TRACK_RULE.chosen_on if threshold is None and min_log10_lr is None else None, "top": page_size,
                  "offset": offset}
        with self.store.write() as w:
            if repairs:
                self._audit(w, "faces.index_rebuilt", {}, {"problems": repairs})
            self._audit(w, action, params, {"matches": len(matches)})
        return {"query": query, "threshold": threshold, "min_log10_lr": floor, "top": page_size, "offset": offset,
                "total": len(matches), "photos": sum(m["kind"] == "image" for m in matches),
                "video_tracks": sum(m["kind"] == "video" for m in matches),
                "more": max(0, len(matches) - offset - len(page)), "model": model_version(),
                "calibration": cal.summary(),
                "track_rule": TRACK_RULE.as_dict() if threshold is None and min_log10_lr is None else None, "index": "hnsw" if self.index.uses_hnsw() else "exact", "index_repaired": repairs, "matches": page}

    def record_view(self, query: dict, threshold: float, shown: int, photos: int, video_tracks: int) -> None:
        """Audit what a front end showed once the examiner settled on a threshold: the
        threshold and the number of appearances on screen (as `faces.search`)."""
        params = {**{k: v for k, v in query.items() if k in ("face_id", "sha256", "face_index")},
                  "threshold": threshold, "settled": True}
        with self.store.write() as w:
            self._audit(w, "faces.search", params, {"matches": shown, "photos": photos, "video_tracks": video_tracks})

    def _query(self, image_path: str | Path | None, face_id: int | None,
               face_index: int) -> tuple[dict[str, Any], np.ndarray, set[int], "FaceQuality"]:
        """The query's description for the audit, its embedding, faces not to return, and
        its quality for the calibration."""
        from forensics.faces.calibration import FaceQuality

        if face_id is not None:
            row = self.store.read.execute("SELECT embedding, track_id, size, sharpness FROM faces WHERE id = ?",
                                          (face_id,)).fetchone()
            if row is None:
                raise CaseError(f"no face {face_id} in this case")
            # the query itself, and the rest of its own video track, are not "other appearances"
            exclude = {face_id} | ({r[0] for r in self.store.query("SELECT id FROM faces WHERE track_id = ?", (row[1],))}
                                   if row[1] is not None else set())
            return {"face_id": face_id}, embedding_array(row[0]), exclude, FaceQuality(float(row[2] or 0), row[3])
        sha, faces = self.query_faces(image_path)
        query: dict[str, Any] = {"image": str(image_path), "sha256": sha, "faces_in_image": len(faces),
                                 "face_index": face_index}
        if not faces:
            raise CaseError(f"no face found in {image_path}")
        if not 0 <= face_index < len(faces):
            raise CaseError(f"{image_path} has {len(faces)} face(s); --face must be 0..{len(faces) - 1}")
        f = faces[face_index]
        query["box"] = {"top": f.top, "right": f.right, "bottom": f.bottom, "left": f.left}
        return query, f.vector(), set(), FaceQuality(float(f.size), f.sharpness)

    def _within(self, vec: np.ndarray, threshold: float, exclude: set[int]) -> list:
        """Every indexed face within `threshold`, nearest first: k grows until the farthest
        neighbour is beyond the threshold or the index is exhausted, so no count caps it."""
        k = 64 + len(exclude)
        while True:
            neighbours = self.index.search(vec, k=k)
            if len(neighbours) < k or not neighbours or neighbours[-1].distance > threshold:
                return [n for n in neighbours if n.face_id not in exclude and n.distance <= threshold]
            k *= 4

    def _group_matches(self, scored: list) -> list[dict]:
        """Photo faces stay single matches; video detections fold into their track."""
        out: list[dict] = []
        seen_tracks: set[int] = set()
        for n, f, lr in scored:  # strongest first
            base = {"face_id": n.face_id, "distance": round(n.distance, 4), **lr, "lead": not lr["reliable"],
                    "size": f["size"], "box": f["box"], "person_id": f["person_id"],
                    "person_name": f["person_name"], "link": f["link"]}
            if f["track_id"] is not None:
                if f["track_id"] in seen_tracks:
                    continue
                seen_tracks.add(f["track_id"])
                t = self.track(f["track_id"])
                out.append({**base, "kind": "video", "item_id": t["video_id"], "path": t["path"],
                            "frame_item_id": f["item_id"], "frame_time": f["frame_time"], "track_id": t["id"],
                            "start": t["start"], "end": t["end"], "best_frame_item_id": t["best_frame_item_id"],
                            "best_face_id": t["best_face_id"]})
            else:
                out.append({**base, "kind": "image", "item_id": f["item_id"], "path": f["path"]})
        return out

    def _track_match(self, hit, cal, qq) -> dict:
        """A video hit: the track's span and score, and the best-matching frame (its face
        is the one shown), at that frame's time."""
        f = self.face(hit.best_face_id)
        t = self.track(hit.track_id)
        from forensics.faces.calibration import FaceQuality, verbal_scale
        from forensics.faces.track_search import LEAD_SMALL

        best = self.face(hit.best_face_id)
        lr = cal.describe(hit.best_distance, qq, FaceQuality.from_face(best))  # the best frame's own evidence
        if hit.log10_lr is not None:  # the track's evidence, over its strongest detections
            lr.update(log10_lr=hit.log10_lr, verbal=verbal_scale(hit.log10_lr), reliable=hit.lead_reason != LEAD_SMALL)
        lr.update(lead=not lr["reliable"] or hit.lead, size=best["size"],
                  lead_reason=hit.lead_reason or (LEAD_SMALL if not lr["reliable"] else None))
        return {**lr, "face_id": hit.best_face_id, "distance": hit.distance, "kind": "video",
                "item_id": t["video_id"], "path": t["path"], "frame_item_id": f["item_id"],
                "frame_time": f["frame_time"], "best_match_distance": hit.best_distance,
                "matched_detections": hit.matched, "detections": hit.detections,
                "track_id": t["id"], "start": t["start"], "end": t["end"],
                "best_frame_item_id": t["best_frame_item_id"], "best_face_id": t["best_face_id"],
                "box": f["box"], "person_id": f["person_id"], "person_name": f["person_name"], "link": f["link"]}

    # -- playback ----------------------------------------------------------------
    def playback(self, track_id: int, lead: float = 1.0, max_frames: int = 900, max_side: int = 960,
                 strip: int = 8):
        """A video hit ready to play: every frame from `lead` seconds before the track
        starts to its end, decoded read-only here (never by the front end), with the face
        box on each (interpolated between detections), and the track's `strip` best faces."""
        from forensics.faces.playback import Playback, PlaybackFrame, box_at, decode_span, track_detections
        from forensics.faces.tracks import quality

        t = self.track(track_id)
        path = self.ctx.catalogue.item_file(t["video_id"])
        if path is None:
            raise CaseError(f"the video of track {track_id} has no file path")
        fps = self.store.scalar("SELECT fps FROM items WHERE id = ?", (t["video_id"],)) or 25.0
        dets = track_detections(self.store.read, track_id)
        pb = Playback(track_id, t["video_id"], t["start"], t["end"], float(fps), 1.0)
        start = max(0.0, t["start"] - lead)
        for when, rgb, scale in decode_span(path, start, t["end"], max_frames, max_side):
            box, detected = box_at(dets, when, tol=0.5 / float(fps), span=(t["start"], t["end"]))
            if box is not None and scale != 1.0:
                box = tuple(int(round(v * scale)) for v in box)  # type: ignore[assignment]
            pb.scale = scale
            pb.frames.append(PlaybackFrame(round(when, 3), rgb, box, detected))
        pb.truncated = len(pb.frames) >= max_frames
        rows = self.store.query("SELECT f.id, i.frame_time, f.size, f.det_score, f.sharpness, f.low_quality"
                                " FROM faces f JOIN items i ON i.id = f.item_id WHERE f.track_id = ?", (track_id,))
        ranked = sorted(rows, key=lambda r: -quality(r[2], r[3], r[4], bool(r[5])))[:strip]
        pb.best_faces = [{"face_id": r[0], "time": r[1], "size": r[2], "quality": round(quality(r[2], r[3], r[4], bool(r[5])), 4)}
                         for r in sorted(ranked, key=lambda r: r[1])]
        return pb

    # -- clustering --------------------------------------------------------------
    def cluster(self, threshold: float | None = None, k: int = DEFAULT_K) -> dict:
        """Group faces into clusters; suggest new faces to analysts' persons. Confirmed
        links and rejections are obeyed, never changed.

        By default the rule is the calibration's corroborated linkage
        (`forensics.faces.linkage`): two identities merge only when several face pairs
        agree (never on one pair, which cannot tell a person from a sibling); faces too
        small for clustering are only suggested; pairs of clusters left apart although
        their faces score as the same person are recorded as "possible relatives / same
        person" for the analyst. An explicit `threshold` (euclidean) clusters on the
        distance alone by Chinese whispers, as before calibration existed."""
        import time

        from forensics.faces.calibration import FaceQuality, load_calibration
        from forensics.faces.linkage import calibrated_scorer

        self._require_authority()
        t0 = time.monotonic()
        knn, vecs = self.index.knn_all_with_vectors(k)
        cal = load_calibration()
        linkage = None
        if threshold is None:
            ids, nbr, dist = knn
            width = {r[0]: float(r[1] or 0) for r in self.store.query("SELECT id, size FROM faces WHERE indexed = 1")}
            w_rows = np.array([width.get(int(f), 0.0) for f in ids])
            wa = np.broadcast_to(w_rows[:, None], nbr.shape)
            wb = np.vectorize(lambda f: width.get(int(f), 0.0), otypes=[float])(nbr) if nbr.size else np.zeros(nbr.shape)
            rule = cal.cluster_rule
            thr = cal.distance_thresholds(wa, wb, rule.pair_log10_lr)
            eligible = np.array([cal.cluster_eligible(FaceQuality(x)) for x in w_rows.tolist()], bool)
            llr = cal.log10_lr_pairs(dist, wa, wb)
            review = P.Review(cal.distance_thresholds(wa, wb, cal.decision_log10_lr), llr)
            linkage = P.Linkage(rule, calibrated_scorer(vecs, w_rows, cal), llr, cal.decision_log10_lr)
            params = {"rule": "calibrated", "link_log10_lr": rule.pair_log10_lr,
                      "linkage": {"method": "corroborated", **rule.as_dict()},
                      "min_width": cal.cluster.get("min_width", 40.0), "calibration": cal.version, "k": k}
        else:
            thr, eligible, review = float(threshold), None, None
            params = {"rule": "distance", "threshold": float(threshold), "k": k}
        with self.store.write() as w:
            run = P.run_clustering(w, knn, thr, self.ctx.examiner, eligible, review, linkage)
            result = {**run.__dict__, "seconds": round(time.monotonic() - t0, 2)}
            self._audit(w, "faces.cluster", params, result)
        # the new clusters and track links are pairs of known truth: test the calibration on them
        result["calibration_check"] = self.calibration_check()
        return result

    def appearance_evidence(self, person_id: int) -> dict[int, dict]:
        """For each face of a person: the strongest calibrated evidence that it is the same
        person as one of the person's confirmed faces in another photo or track (the
        report's per-appearance LR). Faces with nothing to compare against are left out."""
        from forensics.faces.calibration import FaceQuality, load_calibration

        cal = load_calibration()
        rows = self.store.query("SELECT id, item_id, track_id, link, size, embedding FROM faces WHERE person_id = ?",
                                (person_id,))
        refs = [r for r in rows if r[3] == "confirmed"]
        out: dict[int, dict] = {}
        for r in rows:
            unit = ("t", r[2]) if r[2] is not None else ("i", r[1])
            others = [x for x in refs if (("t", x[2]) if x[2] is not None else ("i", x[1])) != unit]
            if not others:
                continue
            v = embedding_array(r[5]).astype(np.float64)
            d = np.sqrt(((np.stack([embedding_array(x[5]) for x in others]).astype(np.float64) - v) ** 2).sum(1))
            lrs = cal.log10_lr_pairs(d, np.full(len(others), float(r[4] or 0)), [float(x[4] or 0) for x in others])
            j = int(np.argmax(lrs))
            out[int(r[0])] = {**cal.describe(float(d[j]), FaceQuality(float(r[4] or 0)), FaceQuality(float(others[j][4] or 0))),
                              "distance": round(float(d[j]), 4), "against_face_id": int(others[j][0])}
        return out

    def possible_relatives(self) -> list[dict]:
        """Pairs of persons/clusters the clusterer would not merge on its own: their faces
        score as the same person, but in the band where relatives also score."""
        rows = self.store.query(
            "SELECT pp.person_a, pp.person_b, pp.log10_lr, pp.face_a, pp.face_b, a.name, a.kind, b.name, b.kind"
            " FROM person_pairs pp JOIN persons a ON a.id = pp.person_a JOIN persons b ON b.id = pp.person_b"
            " ORDER BY pp.log10_lr DESC")
        from forensics.faces.calibration import verbal_scale

        return [{"person_a": r[0], "person_b": r[1], "log10_lr": r[2], "verbal": verbal_scale(r[2]),
                 "face_a": r[3], "face_b": r[4], "name_a": r[5], "kind_a": r[6], "name_b": r[7], "kind_b": r[8],
                 "label": "possible relatives / same person"} for r in rows]

    # -- the calibration on this case's material ------------------------------------
    def calibration_check(self) -> dict:
        """Test the LR calibration on the case's pairs of known truth (faces together in one
        photo or frame, tracks, analysts' decisions); audited, with warnings when the case
        departs from the calibration. Never re-fits."""
        from forensics.faces.calibration import load_calibration
        from forensics.faces.case_check import check_case

        self._require_authority()
        cal = load_calibration()
        result = check_case(self.store.read, cal)
        with self.store.write() as w:
            self._audit(w, "faces.calibration_check", {"calibration": cal.version}, result)
        return result

    def last_calibration_check(self) -> dict | None:
        """The most recent audited calibration check, or None if none was run."""
        row = self.store.read.execute("SELECT result FROM audit_log WHERE action = 'faces.calibration_check'"
                                      " ORDER BY seq DESC LIMIT 1").fetchone()
        return json.loads(row[0]) if row else None

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
