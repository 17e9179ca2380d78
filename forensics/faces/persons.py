"""Persons in the database: applying a clustering run and the analyst's edits.

Links from a face to a person are 'confirmed' (an analyst's decision), 'suggested' (the
clusterer proposes an analyst's person) or 'cluster' (member of an automatic, unnamed
cluster). A clustering run only ever rewrites 'suggested' and 'cluster' links; confirmed
links and rejections (face_rejections) are decisions it reads and obeys. Every edit
treats a video track as one unit: all its detections go together.
"""
from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from forensics.clock import utc_now
from forensics.faces.cluster import Graph, build_graph, constrained_whispers
from forensics.faces.linkage import LinkRule, Scorer, corroborated_linkage, knn_candidates
from forensics.model import CaseError

MIN_CLUSTER_NODES = 2  # a face (or track) alone is not a cluster


@dataclass(frozen=True)
class ClusterRun:
    indexed_faces: int
    nodes: int
    edges: int
    clusters: int
    suggested: int
    clustered_faces: int
    low_quality_suggested: int = 0
    possible_relatives: int = 0


@dataclass(frozen=True)
class Linkage:
    """The corroborated rule (`forensics.faces.linkage`) and what it scores with."""

    rule: LinkRule
    score: Scorer  # log10 LR matrix between rows of the kNN arrays
    log10_lr: np.ndarray  # log10 LR of every kNN entry
    candidate_log10_lr: float  # the weakest kNN pair that proposes a merge (the decision level)


@dataclass(frozen=True)
class Review:
    """Links clustering must not decide alone (per kNN entry, aligned with the kNN lists)."""

    threshold: np.ndarray  # distance under which a pair is evidence for the same person at all
    log10_lr: np.ndarray  # the pair's log10 LR, recorded with a "possible relatives" pair


def _node_keys(conn: sqlite3.Connection) -> tuple[dict[int, tuple], dict[int, int], list[tuple]]:
    """face id -> node key, face id -> item id, and the raw rows."""
    rows = conn.execute("SELECT id, item_id, track_id, person_id, link FROM faces").fetchall()
    track_person: dict[int, int] = {}
    for fid, _, tid, pid, link in rows:
        if tid is not None and link == "confirmed":
            track_person[tid] = pid
    key: dict[int, tuple] = {}
    item_of: dict[int, int] = {}
    for fid, item, tid, pid, link in rows:
        item_of[fid] = item
        if link == "confirmed":
            key[fid] = ("p", pid)
        elif tid is not None and tid in track_person:
            key[fid] = ("p", track_person[tid])
        elif tid is not None:
            key[fid] = ("t", tid)
        else:
            key[fid] = ("f", fid)
    return key, item_of, rows


def run_clustering(w: sqlite3.Connection, knn: tuple[np.ndarray, np.ndarray, np.ndarray],
                   threshold: float | np.ndarray, examiner: str, eligible: np.ndarray | None = None,
                   review: Review | None = None, linkage: Linkage | None = None) -> ClusterRun:
    """Cluster with the kNN lists of the indexed faces, then rewrite automatic links in `w`.

    With `linkage`, groups form by the corroborated rule (several agreeing face pairs,
    never one); without it, by Chinese whispers on the edges under `threshold` (one
    distance or one per kNN entry). Faces not `eligible` (too small or blurred to be
    reliable) neither seed nor join clusters: each is suggested to the cluster or person
    of its nearest eligible neighbour within `threshold`. With `review`, pairs of
    clusters/persons that were not merged but have faces within `review.threshold` are
    recorded in person_pairs for the analyst ("possible relatives / same person")."""
    ids, nbr, dist = knn
    key, item_of, rows = _node_keys(w)
    if linkage is not None and linkage.rule.copy_distance > 0:
        key = _join_copies(key, item_of, ids, nbr, dist, eligible, linkage.rule.copy_distance)
    node_index: dict[tuple, int] = {}
    for k in key.values():
        node_index.setdefault(k, len(node_index))
    node_of = {fid: node_index[k] for fid, k in key.items()}
    thr = np.broadcast_to(np.asarray(threshold, float), dist.shape)
    ok_nbr = np.ones(nbr.shape, bool)
    if eligible is not None and not eligible.all():
        ok = {int(f) for f in ids[eligible]}
        nbr_ok = np.vectorize(lambda f: int(f) in ok, otypes=[bool])(nbr) if nbr.size else np.zeros(nbr.shape, bool)
        ok_nbr = eligible[:, None] & nbr_ok
    cannot: list[set[int]] = [set() for _ in range(len(node_index))]
    by_item: dict[int, set[int]] = defaultdict(set)
    for fid, item in item_of.items():
        by_item[item].add(node_of[fid])
    for nodes in by_item.values():
        if len(nodes) > 1:
            for u in nodes:
                cannot[u] |= nodes - {u}
    fixed = {u: k[1] for k, u in node_index.items() if k[0] == "p"}
    rejected: dict[int, set[int]] = defaultdict(set)
    forbidden: dict[int, set[int]] = {}
    for fid, pid in w.execute("SELECT face_id, person_id FROM face_rejections"):
        rejected[fid].add(pid)
        forbidden.setdefault(node_of[fid], set()).add(pid)
    floor = w.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM persons").fetchone()[0]
    if linkage is not None:
        labels, n_edges, alone_strong = _link_corroborated(ids, nbr, ok_nbr, eligible, node_of, key, item_of, cannot,
                                                           fixed, forbidden, floor, linkage, len(node_index))
    else:
        g: Graph = build_graph(ids, nbr, np.where(ok_nbr, dist, np.inf), node_of, len(node_index), thr)
        g.cannot, g.fixed, g.forbidden = cannot, fixed, forbidden
        labels = constrained_whispers(g, label_floor=floor)
        n_edges, alone_strong = g.edges(), set()

    members: dict[int, list[int]] = defaultdict(list)  # label -> face ids
    for fid in key:
        members[labels[node_of[fid]]].append(fid)
    persons = {r[0] for r in w.execute("SELECT id FROM persons WHERE kind = 'person'")}
    old_of = {fid: pid for fid, _, _, pid, link in rows if link == "cluster"}
    old = set(old_of.values())
    w.execute("UPDATE faces SET person_id = NULL, link = NULL WHERE link IN ('suggested', 'cluster')")
    suggested = clustered = 0
    reused: set[int] = set()
    now = utc_now()
    new_clusters = 0
    cid_of: dict[int, int] = {}  # label -> the cluster or person id it became
    for label, fids in sorted(members.items(), key=lambda kv: -len(kv[1])):
        if label in persons:
            free = [f for f in fids if key[f][0] != "p" and label not in rejected.get(f, ())]
            w.executemany("UPDATE faces SET person_id = ?, link = 'suggested' WHERE id = ?", [(label, f) for f in free])
            suggested += len(free)
            continue
        if (len({node_of[f] for f in fids}) < MIN_CLUSTER_NODES and label not in alone_strong
                and not any(key[f][0] == "c" for f in fids)):
            continue  # a face alone is no cluster, unless copies of it or one side of a pair to review
        # keep the id of the old cluster this group mostly continues, so the analyst's
        # view (and any rejection against that cluster) carries over
        votes = Counter(old_of[f] for f in fids if f in old_of and old_of[f] not in reused)
        cid = votes.most_common(1)[0][0] if votes else None
        if cid is None:
            cid = w.execute("INSERT INTO persons (kind, created_utc, created_by) VALUES ('cluster', ?, ?)",
                            (now, examiner)).lastrowid
        reused.add(cid)
        new_clusters += 1
        keep = [f for f in fids if cid not in rejected.get(f, ())]
        w.executemany("UPDATE faces SET person_id = ?, link = 'cluster' WHERE id = ?", [(cid, f) for f in keep])
        clustered += len(keep)
        cid_of[label] = cid
    for label in persons:
        cid_of[label] = label
    low = _suggest_low_quality(w, ids, nbr, dist, thr, eligible, labels, node_of, key, cid_of, rejected)
    merged_thr = np.zeros(dist.shape) if linkage is not None else thr  # the rule merged no pair by itself
    pairs = _record_review_pairs(w, ids, nbr, dist, merged_thr, review, labels, node_of, cid_of, item_of) if review else 0
    stale = [c for c in old if c not in reused]
    w.executemany("DELETE FROM persons WHERE id = ? AND kind = 'cluster'", [(c,) for c in stale])
    w.execute("DELETE FROM persons WHERE kind = 'cluster' AND id NOT IN (SELECT DISTINCT person_id FROM faces"
              " WHERE person_id IS NOT NULL)")
    return ClusterRun(len(ids), len(node_index), n_edges, new_clusters, suggested, clustered, low, pairs)


def _join_copies(key: dict, item_of: dict[int, int], ids: np.ndarray, nbr: np.ndarray, dist: np.ndarray,
                 eligible: np.ndarray | None, copy_distance: float) -> dict:
    """Faces of lone photos within `copy_distance` of each other (copies of one photograph
    in different files) become one node ("c", ...): one appearance, not corroboration."""
    parent: dict[int, int] = {}
    items: dict[int, set[int]] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ok = None if eligible is None else {int(f) for f in ids[eligible]}
    rows, cols = np.nonzero((dist <= copy_distance) & (nbr >= 0))
    for r, c in zip(rows.tolist(), cols.tolist()):
        a, b = int(ids[r]), int(nbr[r, c])
        if key.get(a, ("",))[0] != "f" or key.get(b, ("",))[0] != "f":
            continue
        if ok is not None and (a not in ok or b not in ok):
            continue  # small faces neither seed nor join, as copies either
        ra, rb = find(a), find(b)
        ia, ib = items.setdefault(ra, {item_of[ra]}), items.setdefault(rb, {item_of[rb]})
        if ra != rb and not (ia & ib):  # two faces of one photo are never copies of each other
            parent[rb] = ra
            items[ra] = ia | ib
    out = dict(key)
    roots = {f: find(f) for f in parent}
    size = Counter(roots.values())
    for f, root in roots.items():
        if size[root] > 1:
            out[f] = ("c", root)
    return out


def _link_corroborated(ids: np.ndarray, nbr: np.ndarray, ok_nbr: np.ndarray, eligible: np.ndarray | None,
                       node_of: dict[int, int], key: dict, item_of: dict[int, int], cannot: list[set[int]],
                       fixed: dict[int, int], forbidden: dict[int, set[int]], floor: int, linkage: Linkage,
                       n_nodes: int) -> tuple[list[int], int, set[int]]:
    """Labels by the corroborated rule, the number of candidate node pairs, and the labels
    of nodes left alone although a kNN pair reaches the rule's seed level for them: each
    such node becomes a cluster of its own, so the pair can be put to the analyst."""
    units: list[list[int]] = [[] for _ in range(n_nodes)]
    for r, f in enumerate(ids.tolist()):
        if eligible is None or eligible[r]:
            units[node_of[f]].append(r)
    # a person counts its independent appearances (photos, tracks); a face or a track is one
    weight = [1] * n_nodes
    seen: dict[int, set] = defaultdict(set)
    for f, k in key.items():
        if k[0] == "p":
            seen[node_of[f]].add(item_of[f])
    for u, appearances in seen.items():
        weight[u] = max(1, len(appearances))
    row_of = {int(f): r for r, f in enumerate(ids)}
    unit_of_row = np.array([node_of[int(f)] if units[node_of[int(f)]] else -1 for f in ids], np.int64)
    nbr_rows = (np.vectorize(lambda f: row_of.get(int(f), -1), otypes=[np.int64])(nbr) if nbr.size
                else np.zeros(nbr.shape, np.int64))
    llr = np.where(ok_nbr, linkage.log10_lr, -np.inf)
    cand = knn_candidates(unit_of_row, nbr_rows, llr, linkage.candidate_log10_lr)
    labels = corroborated_linkage([np.asarray(u, np.int64) for u in units], weight, linkage.score, cand, linkage.rule,
                                  cannot, fixed, forbidden, floor)
    size = Counter(labels)
    alone: set[int] = set()
    for (u, v), strength in cand.items():
        if strength >= linkage.rule.seed_log10_lr and labels[u] != labels[v]:
            alone |= {labels[x] for x in (u, v) if size[labels[x]] == 1}
    return labels, len(cand), alone


def _suggest_low_quality(w: sqlite3.Connection, ids: np.ndarray, nbr: np.ndarray, dist: np.ndarray, thr: np.ndarray,
                         eligible: np.ndarray | None, labels: list[int], node_of: dict[int, int], key: dict,
                         cid_of: dict[int, int], rejected: dict[int, set[int]]) -> int:
    """Suggest each low-quality face (not in the graph) to its nearest eligible neighbour's
    cluster or person, when that neighbour is within the pair's threshold."""
    if eligible is None or eligible.all():
        return 0
    row_of = {int(f): r for r, f in enumerate(ids)}
    out = []
    for r in np.flatnonzero(~eligible):
        fid = int(ids[r])
        if key[fid][0] == "p" or cid_of.get(labels[node_of[fid]]) is not None:
            continue  # an analyst's decision stands; a track already clustered keeps its faces
        for c in np.argsort(dist[r]):
            j = int(nbr[r, c])
            if j < 0 or dist[r, c] >= thr[r, c]:
                break
            if j in row_of and eligible[row_of[j]]:
                target = cid_of.get(labels[node_of[j]])
                if target is not None and target not in rejected.get(fid, ()):
                    out.append((target, fid))
                break
    w.executemany("UPDATE faces SET person_id = ?, link = 'suggested' WHERE id = ?", out)
    return len(out)


def _record_review_pairs(w: sqlite3.Connection, ids: np.ndarray, nbr: np.ndarray, dist: np.ndarray, thr: np.ndarray,
                         review: Review, labels: list[int], node_of: dict[int, int], cid_of: dict[int, int],
                         item_of: dict[int, int]) -> int:
    """Rewrite person_pairs: clusters/persons left apart whose faces (in different photos
    or frames) score as the same person within `review.threshold`."""
    w.execute("DELETE FROM person_pairs")
    best: dict[tuple[int, int], tuple[float, int, int]] = {}
    rows, cols = np.nonzero((dist >= thr) & (dist < review.threshold) & (nbr >= 0))
    for r, c in zip(rows.tolist(), cols.tolist()):
        a, b = int(ids[r]), int(nbr[r, c])
        if a not in node_of or b not in node_of or item_of.get(a) == item_of.get(b):
            continue
        pa, pb = cid_of.get(labels[node_of[a]]), cid_of.get(labels[node_of[b]])
        if pa is None or pb is None or pa == pb:
            continue
        k = (pa, pb) if pa < pb else (pb, pa)
        v = float(review.log10_lr[r, c])
        if k not in best or v > best[k][0]:
            best[k] = (v, a, b) if pa < pb else (v, b, a)
    now = utc_now()
    w.executemany("INSERT INTO person_pairs (person_a, person_b, kind, log10_lr, face_a, face_b, created_utc)"
                  " VALUES (?, ?, 'possible_relative', ?, ?, ?, ?)",
                  [(k[0], k[1], round(v[0], 3), v[1], v[2], now) for k, v in best.items()])
    return len(best)


# -- analyst edits ------------------------------------------------------------
def unit_faces(w: sqlite3.Connection, face_ids: list[int]) -> list[int]:
    """The faces, each widened to its whole video track."""
    out: set[int] = set()
    for fid in face_ids:
        row = w.execute("SELECT track_id FROM faces WHERE id = ?", (fid,)).fetchone()
        if row is None:
            raise CaseError(f"no face {fid} in this case")
        if row[0] is None:
            out.add(fid)
        else:
            out |= {r[0] for r in w.execute("SELECT id FROM faces WHERE track_id = ?", (row[0],))}
    return sorted(out)


def person_row(w: sqlite3.Connection, person_id: int) -> sqlite3.Row:
    row = w.execute("SELECT * FROM persons WHERE id = ?", (person_id,)).fetchone()
    if row is None:
        raise CaseError(f"no person or cluster {person_id} in this case")
    return row


def new_person(w: sqlite3.Connection, name: str | None, examiner: str) -> int:
    return int(w.execute("INSERT INTO persons (kind, name, created_utc, created_by) VALUES ('person', ?, ?, ?)",
                         (name, utc_now(), examiner)).lastrowid)


def confirm(w: sqlite3.Connection, person_id: int, face_ids: list[int]) -> int:
    """Link faces to a person as analyst-confirmed; lifts an earlier rejection of that pair."""
    faces = unit_faces(w, face_ids)
    w.executemany("UPDATE faces SET person_id = ?, link = 'confirmed' WHERE id = ?", [(person_id, f) for f in faces])
    w.executemany("DELETE FROM face_rejections WHERE face_id = ? AND person_id = ?", [(f, person_id) for f in faces])
    return len(faces)


def reject(w: sqlite3.Connection, person_id: int, face_ids: list[int], examiner: str) -> int:
    """The analyst says these faces are not this person: unlink and remember it."""
    faces = unit_faces(w, face_ids)
    now = utc_now()
    w.executemany("UPDATE faces SET person_id = NULL, link = NULL WHERE id = ? AND person_id = ?",
                  [(f, person_id) for f in faces])
    w.executemany("INSERT OR REPLACE INTO face_rejections (face_id, person_id, decided_utc, decided_by) VALUES (?, ?, ?, ?)",
                  [(f, person_id, now, examiner) for f in faces])
    return len(faces)


def cluster_to_person(w: sqlite3.Connection, cluster_id: int, name: str | None, exclude: list[int], examiner: str) -> int:
    """Turn an automatic cluster into an analyst's person, confirming all its faces but `exclude`."""
    row = person_row(w, cluster_id)
    if row["kind"] != "cluster":
        raise CaseError(f"{cluster_id} is already a person (rename it instead)")
    if exclude:
        reject(w, cluster_id, exclude, examiner)
    w.execute("UPDATE persons SET kind = 'person', name = ?, created_utc = ?, created_by = ? WHERE id = ?",
              (name, utc_now(), examiner, cluster_id))
    faces = [r[0] for r in w.execute("SELECT id FROM faces WHERE person_id = ?", (cluster_id,))]
    return confirm(w, cluster_id, faces)


def merge(w: sqlite3.Connection, target: int, sources: list[int]) -> int:
    """Move every face and rejection of `sources` to `target`, then drop the sources."""
    t = person_row(w, target)
    srcs = [person_row(w, s) for s in sources if s != target]
    named = [r for r in srcs if r["kind"] == "person"]
    if t["kind"] == "cluster" and named:
        # merging an analyst's person in makes the target an analyst's person too
        w.execute("UPDATE persons SET kind = 'person', name = ? WHERE id = ?", (named[0]["name"], target))
        w.execute("UPDATE faces SET link = 'confirmed' WHERE person_id = ? AND link = 'cluster'", (target,))
        t = person_row(w, target)
    moved = 0
    for s in (r["id"] for r in srcs):
        link = "confirmed" if t["kind"] == "person" else "cluster"
        # a merge is an analyst decision: the source's faces are confirmed as the target
        moved += w.execute("UPDATE faces SET person_id = ?, link = ? WHERE person_id = ? AND link != 'suggested'",
                           (target, link, s)).rowcount
        w.execute("UPDATE faces SET person_id = NULL, link = NULL WHERE person_id = ?", (s,))
        w.execute("INSERT OR IGNORE INTO face_rejections (face_id, person_id, decided_utc, decided_by)"
                  " SELECT face_id, ?, decided_utc, decided_by FROM face_rejections WHERE person_id = ?", (target, s))
        w.execute("DELETE FROM face_rejections WHERE face_id IN (SELECT id FROM faces WHERE person_id = ?)"
                  " AND person_id = ?", (target, target))
        w.execute("DELETE FROM persons WHERE id = ?", (s,))
    return moved
