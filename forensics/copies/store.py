"""Reading and writing copy groups in the case database."""
from __future__ import annotations

import json
import sqlite3
import numpy as np

from forensics.clock import utc_now
from forensics.context import CaseContext
from forensics.copies.matrix import HashMatrix
from forensics.store.queries import marks, select_in, table_signature


def binary_pairs(conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining every file to the first file with the same SHA-256 (a star per digest).
    Empty files are left out: sharing no bytes is not being a copy."""
    a, b = [], []
    first: dict[str, int] = {}
    for item_id, sha in conn.execute(
        "SELECT id, sha256 FROM items WHERE sha256 IN"
        " (SELECT sha256 FROM items WHERE sha256 IS NOT NULL AND size > 0 GROUP BY sha256 HAVING COUNT(*) > 1)"
        " ORDER BY sha256, id"
    ):
        head = first.setdefault(sha, item_id)
        if head != item_id:
            a.append(head)
            b.append(item_id)
    return np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)


def _representative(members: list[sqlite3.Row]) -> sqlite3.Row:
    # The best copy to show for the group: a file before a frame, then the most pixels,
    # then the largest file, then the earliest catalogued.
    return min(members, key=lambda r: (r["kind"] == "frame", -((r["width"] or 0) * (r["height"] or 0)),
                                       -(r["size"] or 0), r["id"]))


def write_groups(ctx: CaseContext, ids: np.ndarray, labels: np.ndarray, params: dict, m: HashMatrix) -> dict:
    """Replace the stored groups with the components in `labels` (one label per id)."""
    order = np.argsort(labels, kind="stable")
    ids_sorted, labels_sorted = ids[order], labels[order]
    cuts = np.flatnonzero(np.diff(labels_sorted)) + 1
    comps = [c for c in np.split(ids_sorted, cuts) if len(c) > 1] if len(ids) else []
    count, max_id = table_signature(ctx.store.read)
    now = utc_now()
    n_binary = n_visual = n_members = 0
    with ctx.store.write() as w:
        w.execute("DELETE FROM copy_members")
        w.execute("DELETE FROM copy_groups")
        for comp in comps:
            members = _rows(w, [int(i) for i in comp])
            if len(members) < 2:
                continue
            rep = _representative(members)
            shas = {r["sha256"] for r in members}
            kind = "binary" if len(shas) == 1 and None not in shas else "visual"
            gid = w.execute("INSERT INTO copy_groups (kind, representative_id, size, created_utc) VALUES (?, ?, ?, ?)",
                            (kind, rep["id"], len(members), now)).lastrowid
            w.executemany(
                "INSERT INTO copy_members (item_id, group_id, identical, d_phash, d_dhash) VALUES (?, ?, ?, ?, ?)",
                [(r["id"], gid, int(r["sha256"] is not None and r["sha256"] == rep["sha256"]),
                  _dist(r["phash"], rep["phash"]), _dist(r["dhash"], rep["dhash"])) for r in members])
            n_members += len(members)
            if kind == "binary":
                n_binary += 1
            else:
                n_visual += 1
        summary = {"groups": n_binary + n_visual, "binary_groups": n_binary, "visual_groups": n_visual,
                   "grouped_items": n_members}
        w.execute("INSERT INTO copy_runs (started_utc, items, max_item_id, params, result) VALUES (?, ?, ?, ?, ?)",
                  (now, count, max_id, json.dumps(params), json.dumps(summary)))
    return summary


def _rows(conn: sqlite3.Connection, ids: list[int]) -> list[sqlite3.Row]:
    return list(select_in(conn, "SELECT id, kind, width, height, size, sha256, phash, dhash FROM items"
                                " WHERE id IN ({ids})", ids))


def _dist(a: int | None, b: int | None) -> int | None:
    if a is None or b is None:
        return None
    return ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count()


def read_groups(ctx: CaseContext, kind: str | None = None, group_ids: list[int] | None = None,
                limit: int | None = None) -> list[dict]:
    """Groups as dicts with their members, largest first."""
    sql = "SELECT id, kind, representative_id, size, created_utc FROM copy_groups WHERE 1=1"
    args: list = []
    if kind:
        sql += " AND kind = ?"
        args.append(kind)
    if group_ids is not None:
        sql += f" AND id IN ({marks(len(group_ids))})"
        args.extend(group_ids)
    sql += " ORDER BY size DESC, id"
    if limit:
        sql += " LIMIT ?"
        args.append(limit)
    conn = ctx.store.read
    groups = [dict(r) for r in conn.execute(sql, args)]
    for g in groups:
        g["group_id"] = g.pop("id")
        g["members"] = [
            {"item_id": r[0], "identical": bool(r[1]), "distances": {"phash": r[2], "dhash": r[3]},
             "kind": r[4], "path": ctx.catalogue.path_display({"source_id": r[5], "relpath": r[6]}),
             "video_id": r[7], "frame_time": r[8]}
            for r in conn.execute(
                "SELECT m.item_id, m.identical, m.d_phash, m.d_dhash, i.kind, COALESCE(p.source_id, i.source_id),"
                " COALESCE(p.relpath, i.relpath), i.parent_id, i.frame_time"
                " FROM copy_members m JOIN items i ON i.id = m.item_id LEFT JOIN items p ON p.id = i.parent_id"
                " WHERE m.group_id = ? ORDER BY m.item_id != ?, COALESCE(m.d_phash, 0) + COALESCE(m.d_dhash, 0), m.item_id",
                (g["group_id"], g["representative_id"]))
        ]
    return groups
