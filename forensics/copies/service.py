"""`case.copies`: copy groups (binary and visual) and search by image."""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
import numpy as np

from forensics.context import CaseContext
from forensics.copies.grouping import IndexParams, components, visual_pairs
from forensics.copies.matrix import HashMatrix
from forensics.copies.query import VARIANT_NAMES, QueryHashes, hashes_of_bytes
from forensics.copies.rule import DEFAULT_RULE, CopyRule
from forensics.evidence import EvidenceError
from forensics.media.image import ImageDecodeError
from forensics.model import CaseError, Progress, error_message
from forensics.store.queries import select_in, table_signature


class CopyService:
    """Copy groups and search by image for one case. Reached as `case.copies`."""

    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._matrix: HashMatrix | None = None
        self._signature: tuple | None = None

    # -- the in-memory hash matrix ------------------------------------------
    def _current_signature(self) -> tuple[int, int]:
        return table_signature(self.ctx.store.read)

    def matrix(self) -> HashMatrix:
        """The packed hashes of the case, reloaded only when the item count changes."""
        sig = self._current_signature()
        with self._lock:
            if self._matrix is None or sig != self._signature:
                from forensics.copies.probes import Probes

                self._matrix = Probes.attach(self.ctx.store.read, HashMatrix.load(self.ctx.store.read))
                # Where forensics.copies.chunk_index keeps the search indexes of large cases.
                self._matrix.index_dir = self.ctx.paths.index / "copies"
                self._signature = sig
            return self._matrix

    # -- search by image ------------------------------------------------------
    def query_hashes(self, image_path: str | os.PathLike | None = None, item_id: int | None = None) -> QueryHashes:
        """Hashes of a query: an outside photo, or an item of the case (re-decoded from its
        file when it is readable, so that mirrored and rotated copies can be found too)."""
        if (image_path is None) == (item_id is None):
            raise CaseError("give either an image path or an item id")
        if image_path is not None:
            try:
                with open(image_path, "rb") as f:
                    data = f.read()
            except OSError as exc:
                raise CaseError(f"cannot read query image {image_path}: {error_message(exc)}") from exc
            try:
                return hashes_of_bytes(data)
            except ImageDecodeError as exc:
                raise CaseError(f"query image {image_path} cannot be decoded: {error_message(exc)}") from exc
        row = self.ctx.store.read.execute(
            "SELECT kind, phash, dhash, blank, sha256 FROM items WHERE id = ?", (int(item_id),)).fetchone()
        if row is None:
            raise CaseError(f"no item {item_id} in this case")
        if row["phash"] is None:
            raise CaseError(f"item {item_id} has no perceptual hash (kind {row['kind']}); only images and video frames can be searched")
        if row["kind"] == "image":
            try:
                q = hashes_of_bytes(self.ctx.evidence.read_item(int(item_id), verify=True))
                if q.phash[0] == row["phash"] and q.dhash[0] == row["dhash"]:
                    return q
            except (EvidenceError, OSError, ImageDecodeError):
                pass
        # Frames (and files no longer readable or changed since ingest): the stored hashes.
        return QueryHashes((row["phash"],), (row["dhash"] or 0,), bool(row["blank"]), row["sha256"], VARIANT_NAMES[:1])

    def similar(self, image_path: str | os.PathLike | None = None, item_id: int | None = None,
                threshold: int | None = None, top: int = 100, rule: CopyRule | None = None,
                verify: bool = True) -> dict:
        """Items that are visual copies of the query (any orientation), ranked by distance.

        `threshold` is the pHash bound; dHash bounds scale with it (see CopyRule)."""
        rule = rule or CopyRule.from_threshold(threshold)
        t0 = time.perf_counter()
        q = self.query_hashes(image_path, item_id)
        m = self.matrix()
        from forensics.copies.probes import scan_all

        hits = [] if q.blank else scan_all(m, *q.arrays(), q.probes, rule)
        if item_id is not None:
            hits = [h for h in hits if h.item_id != int(item_id)]
        hits, rejected, fine = self._verify_hits(hits, q, item_id, verify)
        hits.sort(key=lambda h: (h.d_phash + h.d_dhash, h.d_phash, h.item_id))
        total = len(hits)
        hits = hits[:top] if top else hits
        matches = self._describe(hits, q, fine)
        result = {
            "query": {"image": os.fspath(image_path) if image_path is not None else None, "item_id": item_id,
                      "sha256": q.sha256, "phash": _hex(q.phash[0]), "dhash": _hex(q.dhash[0]),
                      "blank": q.blank, "variants": list(q.variants)},
            "rule": rule.as_dict(),
            "searched": len(m),
            "total": total,
            "rejected_by_verification": rejected,
            "matches": matches,
            "seconds": round(time.perf_counter() - t0, 4),
        }
        if q.blank:
            result["note"] = "the query image is blank or near-uniform; such images all hash alike and are never reported as copies"
        self.ctx.log("copies.similar",
                      {"query_item_id": item_id, "query_sha256": q.sha256, "threshold": threshold, "rule": rule.as_dict(), "top": top},
                      {"matches": total, "returned": len(matches), "searched": len(m), "blank_query": q.blank})
        return result

    def _verify_hits(self, hits, q: QueryHashes, item_id: int | None, verify: bool):
        """Keep the candidates that the copy rule confirms (forensics.copies.confirm):
        ORB inliers >= MIN_INLIERS with the query turned as the matching hash was, and the
        aligned pictures agreeing (MIN_AGREEMENT); where ORB cannot decide, the fine hash. Returns (kept, rejected, evidence)."""
        from forensics.copies import keypoints as K
        from forensics.copies.confirm import Confirmer

        if not verify or not hits:
            return hits, 0, {}
        conf = self._confirmer()
        query_feats: dict[int, K.Features | None] = {}

        def feats(variant: int) -> K.Features | None:
            if variant not in query_feats:
                im = q.oriented(variant)
                if im is not None:
                    query_feats[variant] = K.features(im)
                elif item_id is not None and variant == 0:
                    query_feats[variant] = conf.features(int(item_id))
                else:
                    query_feats[variant] = None
            return query_feats[variant]

        undecided, kept, evidence = [], [], {}
        for h in hits:
            c = K.compare(feats(h.variant), conf.features(h.item_id))
            if h.variant != 0:
                # The nearest hash can belong to the wrong orientation: an edit (a caption)
                # moves the upright hash, and a near-symmetric picture then lands closer to
                # a turned one (bench/copies.py). The orientation whose similarity explains
                # more matches is the one judged.
                c0 = K.compare(feats(0), conf.features(h.item_id))
                if c0 is not None and (c is None or c0.inliers > c.inliers):
                    h, c = replace(h, variant=0), c0
            verdict = K.is_copy(c)
            if verdict is None:
                undecided.append(h)
                continue
            evidence[h.item_id] = c.as_dict()
            if verdict:
                kept.append(h)
        if undecided:
            fine_kept, _, fine = self._fine_check(undecided, q, item_id)
            kept += fine_kept
            for h in undecided:
                evidence[h.item_id] = {"inliers": None, "fine256": fine.get(h.item_id)}
        return kept, len(hits) - len(kept), evidence

    def _confirmer(self):
        from forensics.copies.confirm import Confirmer

        if getattr(self, "_conf", None) is None:
            self._conf = Confirmer(self.ctx)
        return self._conf

    def _fine_check(self, hits, q: QueryHashes, item_id: int | None):
        """Drop candidates whose fine (256-bit) hash disagrees: trimmed or untrimmed within
        FINE_MAX (FINE_MAX_VARIANT for turned/mirrored variants), or, for the upright query,
        one of its 5 %-cut versions within FINE_MAX_CROP (cropped copies)."""
        from forensics.copies.verify import (FINE_MAX, FINE_MAX_CROP, FINE_MAX_VARIANT, FineHashes, crop_distance,
                                             crop_hashes, fine_distance, fine_hash)

        stored = FineHashes(self.ctx).get([h.item_id for h in hits] + ([int(item_id)] if item_id is not None else []))
        query_fine: dict[int, np.ndarray | None] = {}
        crops: np.ndarray | None = None
        kept, fine = [], {}
        for h in hits:
            if h.variant not in query_fine:
                im = q.oriented(h.variant)
                query_fine[h.variant] = fine_hash(im) if im is not None else (stored.get(int(item_id)) if h.variant == 0 and item_id is not None else None)
            d = fine_distance(query_fine[h.variant], stored.get(h.item_id))
            fine[h.item_id] = d
            if d is None or d <= (FINE_MAX if h.variant == 0 else FINE_MAX_VARIANT):
                kept.append(h)
                continue
            if h.variant == 0 and q.image is not None:
                if crops is None:
                    crops = crop_hashes(q.image)
                dc = crop_distance(crops, stored.get(h.item_id))
                if dc is not None and dc <= FINE_MAX_CROP:
                    fine[h.item_id] = dc
                    kept.append(h)
        return kept, len(hits) - len(kept), fine

    def _describe(self, hits, q: QueryHashes, fine: dict | None = None) -> list[dict]:
        if not hits:
            return []
        ids = [h.item_id for h in hits]
        rows = {r["id"]: r for r in select_in(
            self.ctx.store.read, "SELECT i.id, i.kind, i.parent_id, i.frame_time, i.sha256, i.width, i.height,"
            " i.category FROM items i WHERE i.id IN ({ids})", ids)}
        paths = self.ctx.catalogue.display_paths(rows)
        out = []
        for h in hits:
            r = rows.get(h.item_id)
            if r is None:  # removed since the matrix was loaded
                continue
            out.append({
                "item_id": h.item_id,
                "path": paths[h.item_id],
                "kind": r["kind"],
                "video_id": r["parent_id"],
                "frame_time": r["frame_time"],
                "distance": h.d_phash + h.d_dhash,
                "distances": {"phash": h.d_phash, "dhash": h.d_dhash, **(fine or {}).get(h.item_id, {})},
                "variant": q.variants[h.variant],
                "via": h.via,
                "identical": bool(q.sha256 and r["sha256"] == q.sha256),
                "width": r["width"], "height": r["height"], "category": r["category"],
            })
        return out

    # -- copy groups --------------------------------------------------------------
    def group(self, progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None,
              rule: CopyRule | None = None, params: IndexParams | None = None, verify: bool = True) -> dict:
        """Recompute the copy groups of the whole case (binary and visual) and store them."""
        from forensics.copies.store import binary_pairs, write_groups

        rule = rule or DEFAULT_RULE
        params = params or IndexParams()
        t0 = time.perf_counter()
        store = self.ctx.store
        m = self.matrix()

        def stage(name: str, done: int, total: int) -> None:
            if progress:
                progress(Progress(done, total, message=f"copies: {name}"))

        from forensics.copies.probe_pairs import NO_TURN, probe_pairs

        va, vb = visual_pairs(m, rule, params, stage, cancel)
        pa, pb, pt = probe_pairs(m, rule, cancel=cancel)
        stage("probes", 1, 1)
        n_candidates = int(len(va) + len(pa))
        va, vb = np.concatenate([va, pa]), np.concatenate([vb, pb])
        vt = np.concatenate([np.full(n_candidates - len(pa), NO_TURN, np.int8), pt])
        rejected = 0
        if verify and len(va):
            va, vb, rejected = self._verify_pairs(m, va, vb, vt, n_candidates - len(pa), progress, cancel)
        # Map matrix rows and binary-copy items onto one node numbering.
        bin_ids_a, bin_ids_b = binary_pairs(store.read)
        all_ids = np.unique(np.concatenate([m.ids[va], m.ids[vb], bin_ids_a, bin_ids_b]))
        ea = np.searchsorted(all_ids, np.concatenate([m.ids[va], bin_ids_a]))
        eb = np.searchsorted(all_ids, np.concatenate([m.ids[vb], bin_ids_b]))
        labels = components(len(all_ids), ea, eb) if len(all_ids) else np.zeros(0, np.int64)
        if cancel is not None and cancel.is_set():
            from forensics.model import Cancelled

            raise Cancelled("copy grouping cancelled before writing")
        from forensics.copies.verify import FINE_MAX

        from forensics.copies import keypoints as K

        params_doc = {"rule": rule.as_dict(), "index": params.as_dict(), "hashed_items": len(m),
                      "min_inliers": K.MIN_INLIERS if verify else None, "fine_hash_max": FINE_MAX if verify else None}
        summary = write_groups(self.ctx, all_ids, labels, params_doc, m)
        summary["visual_pairs"] = int(len(va))
        summary["candidate_pairs"] = n_candidates
        summary["rejected_by_verification"] = rejected
        summary["binary_pairs"] = int(len(bin_ids_a))
        summary["seconds"] = round(time.perf_counter() - t0, 2)
        with store.write() as w:
            w.execute("UPDATE copy_runs SET result = ? WHERE id = (SELECT MAX(id) FROM copy_runs)", (json.dumps(summary),))
            self.ctx.audit(w, "copies.group", params_doc, summary)
        return summary

    def group_if_stale(self, progress: Callable[[Progress], None] | None = None,
                       cancel: threading.Event | None = None, force: bool = False) -> tuple[dict, bool]:
        """Regroup when items were added or removed since the last grouping (or when
        `force`d). Returns (the grouping result, whether it ran now)."""
        last = self.last_run()
        if not force and last is not None and not last["stale"]:
            return last["result"], False
        return self.group(progress, cancel), True

    def _verify_pairs(self, m: HashMatrix, va: np.ndarray, vb: np.ndarray, vt: np.ndarray, n_whole: int,
                      progress: Callable[[Progress], None] | None = None,
                      cancel: threading.Event | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """The pairs the copy rule confirms, with the same rule as search: ORB inliers
        >= MIN_INLIERS (the first picture turned as its matching probe says); where ORB
        cannot decide, the fine hash for whole-picture pairs and a refusal for probe
        pairs (they are looser). A pair whose items are already joined through verified
        pairs needs no check of its own, so each component costs about one check per
        member rather than one per pair."""
        from forensics.copies import keypoints as K
        from forensics.copies.probe_pairs import NO_TURN
        from forensics.copies.verify import FINE_MAX, FineHashes, fine_distance

        conf = self._confirmer()
        root = np.arange(len(m))

        def find(x: int) -> int:
            while root[x] != x:
                root[x] = root[root[x]]
                x = int(root[x])
            return x

        keep = np.zeros(len(va), bool)
        fine: dict | None = None
        checked = 0
        for i, (a, b, t) in enumerate(zip(va.tolist(), vb.tolist(), vt.tolist())):
            ra, rb = find(a), find(b)
            if ra == rb:
                continue
            if cancel is not None and cancel.is_set():
                from forensics.model import Cancelled

                raise Cancelled("copy grouping cancelled while verifying")
            checked += 1
            if progress and checked % 50 == 0:
                progress(Progress(i, len(va), message="copies: verifying"))
            ia, ib = int(m.ids[a]), int(m.ids[b])
            c = conf.pair(ia, ib, None if t == NO_TURN else t)
            if t != NO_TURN:
                # As in search: the turn the probes proposed can be the wrong one.
                c0 = conf.pair(ia, ib)
                if c0 is not None and (c is None or c0.inliers > c.inliers):
                    c = c0
            verdict = K.is_copy(c)
            if verdict is None and i < n_whole:
                if fine is None:
                    fine = FineHashes(self.ctx).get(np.concatenate([m.ids[va[:n_whole]], m.ids[vb[:n_whole]]]).tolist())
                d = fine_distance(fine.get(ia), fine.get(ib))
                verdict = d is None or d <= FINE_MAX
            if verdict:
                keep[i] = True
                root[ra] = rb
        return va[keep], vb[keep], int(checked - keep.sum())

    def groups(self, kind: str | None = None, limit: int | None = None) -> list[dict]:
        """Every copy group: id, kind, representative and members with their distances."""
        from forensics.copies.store import read_groups

        return read_groups(self.ctx, kind=kind, limit=limit)

    def group_of(self, item_id: int) -> dict | None:
        """The copy group holding this item, or None."""
        from forensics.copies.store import read_groups

        gid = self.ctx.store.scalar("SELECT group_id FROM copy_members WHERE item_id = ?", (int(item_id),))
        if gid is None:
            return None
        found = read_groups(self.ctx, group_ids=[gid])
        return found[0] if found else None

    def group_members(self, item_ids) -> list[int]:
        """All items in the copy groups of the given items, the items themselves included."""
        ids = sorted({int(i) for i in item_ids})
        if not ids:
            return []
        out = set(ids)
        out.update(r[0] for r in select_in(
            self.ctx.store.read, "SELECT m2.item_id FROM copy_members m1 JOIN copy_members m2"
            " ON m2.group_id = m1.group_id WHERE m1.item_id IN ({ids})", ids))
        return sorted(out)

    def representatives(self) -> dict[int, int]:
        """item id -> its group's representative, for every grouped item (gallery collapse)."""
        return {r[0]: r[1] for r in self.ctx.store.read.execute(
            "SELECT m.item_id, g.representative_id FROM copy_members m JOIN copy_groups g ON g.id = m.group_id")}

    def last_run(self) -> dict | None:
        """When grouping last ran and whether items were added since (stale)."""
        r = self.ctx.store.read.execute(
            "SELECT started_utc, items, max_item_id, params, result FROM copy_runs ORDER BY id DESC LIMIT 1").fetchone()
        if r is None:
            return None
        count, max_id = self._current_signature()
        return {"started_utc": r[0], "items": r[1], "params": json.loads(r[3]), "result": json.loads(r[4]),
                "stale": (count, max_id) != (r[1], r[2])}


def _hex(h: int) -> str:
    from forensics.hashing.perceptual import to_hex

    return to_hex(int(h))
