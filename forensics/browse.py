"""Browsing queries for large item lists: filtered, sorted id lists, rows fetched in
batches, and the choices a filter bar offers.

The desktop gallery shows tens of thousands of items. It keeps only a list of ids and
asks for rows a screenful at a time, so every query here is one SQL statement over the
schema and returns plain data (faces, hash-set matches and copy groups included).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from forensics.context import CaseContext
from forensics.store.hashset_status import hidden_item_sql, item_status_sql
from forensics.store.places_current import current_place_sql, current_places_join
from forensics.store.queries import marks, select_in

SORT_KEYS = ("date", "path", "size", "category", "id")
GALLERY_KINDS = ("image", "video")
UNCATEGORISED = -1  # ItemFilter.category value selecting items with no category
NO_COUNTRY = "-"  # ItemFilter.country value: GPS positions outside every country, or invalid

# The light columns a gallery cell needs; the full record comes from the catalogue's item().
ROW_COLUMNS = (
    "i.id, i.kind, i.source_id, i.relpath, i.size, i.mime, i.width, i.height, i.duration, i.taken_time,"
    " i.taken_utc, i.taken_zone,"
    " i.mtime_utc, i.camera_model, i.category, i.bookmarked, i.thumb, i.status, i.flags,"
    " (i.gps_lat IS NOT NULL) AS has_gps"
)


@dataclass(frozen=True)
class ItemFilter:
    """What the gallery shows. `None` means "do not filter on this"."""

    kinds: tuple[str, ...] = GALLERY_KINDS
    has_faces: bool | None = None
    category: int | None = None  # 0-99, or UNCATEGORISED
    tag: str | None = None
    hashset_match: bool | None = None
    hash_set: int | None = None  # id of an imported hash set: only the items it matches
    hide_known_good: bool = False
    date_from: str | None = None  # ISO date/time, compared with the date taken (else modified)
    date_to: str | None = None
    camera_model: str | None = None
    has_gps: bool | None = None
    country: str | None = None  # ISO country code of the place (forensics.places), or NO_COUNTRY
    place: str | None = None  # the city of a position ("Paris"; the locality where no city is near)
    area: tuple[tuple[float, float], ...] | None = None  # (lon, lat) vertices of a map lasso
    errors: bool | None = None
    bookmarked: bool | None = None
    deleted: bool | None = None  # files recovered from unallocated entries of a disk image
    text: str | None = None  # substring of the path
    collapse_copies: bool = False  # show one representative per copy group
    ids: tuple[int, ...] | None = None  # only among these items (e.g. those an ingest just committed)


# When an item was taken, as a UTC instant (local times, offsets and UTC do not sort as
# text); a recorded time that could not be read as an instant (rows written before
# migration 0004 could) falls back to its text, else the file's modification time.
_INSTANT = "COALESCE(i.taken_utc, i.taken_time, i.mtime_utc)"
# A video shows a face when one of its sampled frames does.
_FACES = ("(EXISTS (SELECT 1 FROM faces f WHERE f.item_id = i.id)"
          " OR (i.kind = 'video' AND EXISTS (SELECT 1 FROM items fr JOIN faces f ON f.item_id = fr.id"
          " WHERE fr.parent_id = i.id)))")
# A frame is deleted when its video is.
_DELETED = ("EXISTS (SELECT 1 FROM item_image_refs r WHERE r.item_id = COALESCE(i.parent_id, i.id)"
            " AND r.allocated = 0)")
_HASHSET = "EXISTS (SELECT 1 FROM hash_matches m WHERE m.item_id = i.id)"
_IN_HASH_SET = _HASHSET[:-1] + " AND m.set_id = ?)"  # a match of one set
# The item's place, looked up for the position it has now (a place of a since-corrected or
# cleared position is not its place: forensics.store.places_current, as the catalogue).
_PLACE = f"SELECT 1 FROM item_places p WHERE p.item_id = i.id AND {current_place_sql()}"
# Known-good and non-pertinent (category 0) matches hide an item, unless another entry it
# matches says otherwise (forensics.store.hashset_status).
_KNOWN_GOOD = hidden_item_sql("i.id")
# Members of a copy group other than its representative are hidden when collapsing.
_NOT_REPRESENTATIVE = ("EXISTS (SELECT 1 FROM copy_members cm JOIN copy_groups g ON g.id = cm.group_id"
                       " WHERE cm.item_id = i.id AND g.representative_id != i.id)")


def _where(f: ItemFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if f.kinds:
        clauses.append(f"i.kind IN ({marks(len(f.kinds))})")
        args.extend(f.kinds)
    if f.has_faces is not None:
        clauses.append(_FACES if f.has_faces else f"NOT {_FACES}")
    if f.category is not None:
        if f.category == UNCATEGORISED:
            clauses.append("i.category IS NULL")
        else:
            clauses.append("i.category = ?")
            args.append(f.category)
    if f.tag:
        clauses.append("EXISTS (SELECT 1 FROM item_tags it JOIN tags t ON t.id = it.tag_id"
                       " WHERE it.item_id = i.id AND t.name = ?)")
        args.append(f.tag)
    if f.hashset_match is not None:
        clauses.append(_HASHSET if f.hashset_match else f"NOT {_HASHSET}")
    if f.hash_set is not None:
        clauses.append(_IN_HASH_SET)
        args.append(int(f.hash_set))
    if f.hide_known_good:
        clauses.append(f"NOT {_KNOWN_GOOD}")
    date = _INSTANT
    if f.date_from:
        clauses.append(f"{date} >= ?")
        args.append(f.date_from)
    if f.date_to:
        # A bare date means "through the end of that day".
        clauses.append(f"{date} <= ?")
        args.append(f.date_to + ("T99" if len(f.date_to) == 10 else ""))
    if f.camera_model:
        clauses.append("i.camera_model = ?")
        args.append(f.camera_model)
    if f.has_gps is not None:
        clauses.append("i.gps_lat IS NOT NULL" if f.has_gps else "i.gps_lat IS NULL")
    if f.country:
        if f.country == NO_COUNTRY:
            clauses.append(f"i.gps_lat IS NOT NULL AND NOT EXISTS ({_PLACE} AND p.country_code IS NOT NULL)")
        else:
            clauses.append(f"EXISTS ({_PLACE} AND p.country_code = ?)")
            args.append(f.country)
    if f.place:
        clauses.append(f"EXISTS ({_PLACE} AND (p.city = ? OR p.city IS NULL AND p.locality = ?))")
        args.extend((f.place, f.place))
    if f.area is not None:
        clause, area_args = _area(f.area)
        clauses.append(clause)
        args.extend(area_args)
    if f.errors is not None:
        cond = "(i.status = 'error' OR EXISTS (SELECT 1 FROM item_errors e WHERE e.item_id = i.id))"
        clauses.append(cond if f.errors else f"NOT {cond}")
    if f.deleted is not None:
        clauses.append(_DELETED if f.deleted else f"NOT {_DELETED}")
    if f.bookmarked is not None:
        clauses.append("i.bookmarked = ?")
        args.append(int(f.bookmarked))
    if f.text:
        clauses.append("i.relpath LIKE ? ESCAPE '\\'")
        escaped = f.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args.append(f"%{escaped}%")
    if f.ids is not None:
        clauses.append(f"i.id IN ({marks(len(f.ids))})" if f.ids else "0")
        args.extend(int(i) for i in f.ids)
    if f.collapse_copies:
        clauses.append(f"NOT {_NOT_REPRESENTATIVE}")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _area(vertices: tuple[tuple[float, float], ...]) -> tuple[str, list[Any]]:
    """Positions inside a polygon of (lon, lat) vertices, in one SQL clause: the bounding box
    first (cheap, uses no JSON), then the even-odd ray-crossing test over the polygon's edges."""
    import json

    pts = [(float(x), float(y)) for x, y in vertices]
    if len(pts) < 3:
        return "0", []
    edges = [(*pts[k - 1], *pts[k]) for k in range(len(pts))]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    e = "json_extract(e.value, '$[{}]')"
    x1, y1, x2, y2 = (e.format(n) for n in range(4))
    crossing = (f"(SELECT COUNT(*) FROM json_each(?) e WHERE ({y1} > i.gps_lat) != ({y2} > i.gps_lat)"
                f" AND i.gps_lon < ({x2} - {x1}) * (i.gps_lat - {y1}) / ({y2} - {y1}) + {x1}) % 2 = 1")
    return (f"(i.gps_lat BETWEEN ? AND ? AND i.gps_lon BETWEEN ? AND ? AND {crossing})",
            [min(ys), max(ys), min(xs), max(xs), json.dumps(edges)])


def filter_sql(f: ItemFilter) -> tuple[str, list[Any]]:
    """The WHERE clause (over `items i`) and its arguments selecting what `f` shows, for
    other core queries over the same items (forensics.timeline)."""
    return _where(f)


def _order(sort: str, descending: bool) -> str:
    d = " DESC" if descending else ""
    if sort == "date":
        return f" ORDER BY {_INSTANT} IS NULL, {_INSTANT}{d}, i.id{d}"
    if sort == "path":
        return f" ORDER BY i.source_id{d}, i.relpath{d}, i.id{d}"
    if sort == "size":
        return f" ORDER BY i.size IS NULL, i.size{d}, i.id{d}"
    if sort == "category":
        return f" ORDER BY i.category IS NULL, i.category{d}, i.id{d}"
    if sort == "id":
        return f" ORDER BY i.id{d}"
    raise ValueError(f"unknown sort key {sort!r}; choose one of {', '.join(SORT_KEYS)}")


def item_ids(ctx: CaseContext, filters: ItemFilter = ItemFilter(), sort: str = "id", descending: bool = False,
             limit: int | None = None) -> list[int]:
    """Ids of the items matching `filters`, in display order (the first `limit` of them).

    The ids come back as one text (group_concat over the ordered subquery: SQLite keeps a
    subquery's ORDER BY when the outer query has no ORDER BY and no join, and aggregates
    in that order; tests/core/test_browse_pages.py checks it for every sort key). One row
    instead of 100,000 matters in the workbench: Python's sqlite3 releases and re-takes
    the interpreter lock for every row, so a row-by-row read in a background thread hands
    the lock back and forth with the GUI thread 100,000 times while it builds the window."""
    where, args = _where(filters)
    sql = "SELECT i.id AS id FROM items i" + where + _order(sort, descending)
    if limit is not None:
        sql += " LIMIT ?"
        args.append(int(limit))
    text = ctx.store.read.execute(f"SELECT group_concat(id) FROM ({sql})", args).fetchone()[0]
    return list(map(int, text.split(","))) if text else []


def count(ctx: CaseContext, filters: ItemFilter = ItemFilter()) -> int:
    """How many items match `filters`."""
    where, args = _where(filters)
    return int(ctx.store.scalar("SELECT COUNT(*) FROM items i" + where, tuple(args)))


def positions(ctx: CaseContext, filters: ItemFilter = ItemFilter()):
    """(ids, lat, lon) numpy arrays of the items matching `filters` that have a usable GPS
    position (in range, not 0, 0), for the map; one query, no per-item objects."""
    import numpy as np

    where, args = _where(filters)
    cond = ("i.gps_lat IS NOT NULL AND i.gps_lon IS NOT NULL AND i.gps_lat BETWEEN -90 AND 90"
            " AND i.gps_lon BETWEEN -180 AND 180 AND NOT (i.gps_lat = 0 AND i.gps_lon = 0)")
    where = (where + " AND " + cond) if where else " WHERE " + cond
    rows = ctx.store.read.execute("SELECT i.id, i.gps_lat, i.gps_lon FROM items i" + where + " ORDER BY i.id",
                                  args).fetchall()
    arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
    return arr[:, 0].astype(np.int64), arr[:, 1].copy(), arr[:, 2].copy()


def item_rows(ctx: CaseContext, ids: list[int]) -> list[dict]:
    """Light gallery rows for `ids`, in the same order (ids no longer present are skipped).

    Each row has the columns of ROW_COLUMNS plus `name`, `has_errors`, `tags` (list),
    `faces` (count; for a video, faces on its frames), `hash_matches` (count),
    `hash_status` (the most telling match: known-bad, categorised, non-pertinent, known-good)
    and `copy_group` (group id or None)."""
    if not ids:
        return []
    conn: sqlite3.Connection = ctx.store.read
    out: dict[int, dict] = {}
    face_col = (", (SELECT COUNT(*) FROM faces f WHERE f.item_id = i.id)"
                " + CASE WHEN i.kind = 'video' THEN (SELECT COUNT(*) FROM items fr JOIN faces f"
                " ON f.item_id = fr.id WHERE fr.parent_id = i.id) ELSE 0 END AS faces"
                ", (SELECT COUNT(*) FROM hash_matches m WHERE m.item_id = i.id) AS hash_matches"
                f", {item_status_sql('i.id')} AS hash_status"
                ", (SELECT cm.group_id FROM copy_members cm WHERE cm.item_id = i.id) AS copy_group")
    sql = (f"SELECT {ROW_COLUMNS},"
           " EXISTS (SELECT 1 FROM item_errors e WHERE e.item_id = i.id) AS has_errors,"
           " (SELECT group_concat(t.name, char(31)) FROM item_tags it JOIN tags t ON t.id = it.tag_id"
           f" WHERE it.item_id = i.id) AS tag_list{face_col},"
           " (SELECT s.path FROM sources s WHERE s.id = i.source_id) AS source_path"
           " FROM items i WHERE i.id IN ({ids})")
    for r in select_in(conn, sql, ids):
        d = dict(r)
        d["bookmarked"] = bool(d["bookmarked"])
        d["has_gps"] = bool(d["has_gps"])
        d["has_errors"] = bool(d["has_errors"]) or d["status"] == "error"
        d["flags"] = d["flags"].split() if d["flags"] else []
        tl = d.pop("tag_list")
        d["tags"] = sorted(tl.split("\x1f")) if tl else []
        # A file added on its own is its source: its relpath is empty.
        d["name"] = d["relpath"].rsplit("/", 1)[-1] or d.pop("source_path").rstrip("/").rsplit("/", 1)[-1]
        d.pop("source_path", None)
        out[d["id"]] = d
    return [out[i] for i in ids if i in out]


def facets(ctx: CaseContext) -> dict:
    """The choices and counts a filter bar offers: kinds, categories, tags, camera models,
    the date range, how many items have GPS, errors, faces and hash-set matches, and the
    imported hash sets with the items each matches."""
    q = ctx.store.query
    kinds = {r[0]: r[1] for r in q("SELECT kind, COUNT(*) FROM items GROUP BY kind")}
    cat_counts = {r[0]: r[1] for r in q("SELECT category, COUNT(*) FROM items WHERE category IS NOT NULL GROUP BY category")}
    categories = [{"id": cid, "name": name, "count": cat_counts.get(cid, 0)} for cid, name in ctx.catalogue.categories().items()]
    tags = [{"name": r[0], "count": r[1]} for r in q(
        "SELECT t.name, COUNT(it.item_id) FROM tags t LEFT JOIN item_tags it ON it.tag_id = t.id GROUP BY t.id ORDER BY t.name")]
    cameras = [{"model": r[0], "count": r[1]} for r in q(
        "SELECT camera_model, COUNT(*) FROM items WHERE camera_model IS NOT NULL AND camera_model != ''"
        " GROUP BY camera_model ORDER BY 2 DESC, 1")]
    lo, hi = q("SELECT MIN(COALESCE(taken_utc, taken_time, mtime_utc)), MAX(COALESCE(taken_utc, taken_time, mtime_utc))"
               " FROM items"
               " WHERE kind != 'frame'")[0]
    out: dict[str, Any] = {
        "kinds": kinds,
        "categories": categories,
        "uncategorised": ctx.store.scalar("SELECT COUNT(*) FROM items WHERE category IS NULL AND kind != 'frame'"),
        "tags": tags,
        "camera_models": cameras,
        "date_range": [lo, hi],
        "has_gps": ctx.store.scalar("SELECT COUNT(*) FROM items WHERE gps_lat IS NOT NULL AND kind != 'frame'"),
        "countries": [{"code": r[0], "name": r[1], "count": r[2]} for r in q(
            f"SELECT p.country_code, MAX(p.country), COUNT(*) FROM items i {current_places_join()}"
            " WHERE p.country_code IS NOT NULL AND i.kind != 'frame' GROUP BY p.country_code ORDER BY 2")],
        "places": [{"name": r[0], "country_code": r[1], "count": r[2]} for r in q(
            f"SELECT COALESCE(p.city, p.locality), p.country_code, COUNT(*) FROM items i {current_places_join()}"
            " WHERE COALESCE(p.city, p.locality) IS NOT NULL AND i.kind != 'frame'"
            " GROUP BY 1, 2 ORDER BY 3 DESC, 1"
            " LIMIT 500")],
        "errors": ctx.store.scalar("SELECT COUNT(DISTINCT item_id) FROM item_errors"),
        "bookmarked": ctx.store.scalar("SELECT COUNT(*) FROM items WHERE bookmarked = 1"),
        "faces": count(ctx, ItemFilter(has_faces=True)),
        "hashset_matches": count(ctx, ItemFilter(kinds=(), hashset_match=True)),
        "copy_groups": ctx.store.scalar("SELECT COUNT(*) FROM copy_groups"),
        # Items each imported set matches (frames aside, as everywhere here).
        "hash_sets": [dict(r) for r in q(
            "SELECT s.id, s.name, s.kind, (SELECT COUNT(DISTINCT m.item_id) FROM hash_matches m JOIN items i"
            " ON i.id = m.item_id WHERE m.set_id = s.id AND i.kind != 'frame') AS items"
            " FROM hash_sets s WHERE s.state = 'ready' ORDER BY s.name")],
    }
    return out


def item_exif(ctx: CaseContext, item_id: int) -> dict:
    """The EXIF tags recorded at ingest for one item ({} when there are none)."""
    import json

    raw = ctx.store.scalar("SELECT exif_json FROM items WHERE id = ?", (int(item_id),))
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {"(unreadable)": raw[:200]}
    return data if isinstance(data, dict) else {"exif": data}
