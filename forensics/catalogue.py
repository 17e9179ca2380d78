"""The catalogue: item rows, their paths and the case's sources, categories and tags.

Everything that turns an `items` row into what people and services see lives here: the
column list, the display path (UTF-8 where it is, \\xNN escapes where it is not), the
exact on-disk path of an item's bytes, and the plain-dict item record.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from forensics.store.db import Store
from forensics.store.places_current import current_places_join
from forensics.store.queries import select_in

ITEM_COLUMNS = (
    "id, kind, source_id, parent_id, relpath, size, mtime_utc, ctime_utc, atime_utc, btime_utc, md5, sha1, sha256, mime,"
    " link_target, width, height, orientation, duration, codec, fps, frame_count, frame_time, frame_index,"
    " taken_time, camera_make, camera_model, gps_lat, gps_lon, gps_alt, phash, dhash, blank, thumb, flags,"
    " status, ingested_utc, category, bookmarked, note, taken_utc, taken_local, taken_offset, taken_zone, retry"
)


def display_path(raw: bytes) -> str:
    """A path for people and JSON: UTF-8 where it is, \\xNN escapes where it is not."""
    return raw.decode("utf-8", errors="backslashreplace")


class Catalogue:
    """Item rows and paths of one case, read through the store's per-thread readers."""

    def __init__(self, store: Store, thumbs_dir: Path) -> None:
        self.store = store
        self.thumbs_dir = Path(thumbs_dir)
        self._source_paths: dict[int, tuple[str, str]] = {}  # sources never move once added
        self._lock = threading.Lock()

    # -- items ---------------------------------------------------------------
    def item(self, item_id: int) -> dict | None:
        """One item as a plain dict (see `items`), or None."""
        found = self.items(ids=[item_id])
        return found[0] if found else None

    def items(self, kind: str | None = None, ids: Iterable[int] | None = None,
              include_frames: bool = True, limit: int | None = None, offset: int = 0) -> list[dict]:
        """Items as plain dicts (hashes, type, EXIF summary, flags, errors, tags), in id order."""
        sql = f"SELECT {ITEM_COLUMNS} FROM items WHERE 1=1"
        args: list[Any] = []
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        if not include_frames:
            sql += " AND kind != 'frame'"
        if ids is None:
            sql += " ORDER BY id"
            if limit is not None:
                sql += " LIMIT ? OFFSET ?"
                args += [limit, offset]
            rows = self.store.read.execute(sql, args).fetchall()
        else:
            rows = sorted(select_in(self.store.read, sql + " AND id IN ({ids})", sorted({int(i) for i in ids}), args),
                          key=lambda r: r["id"])
            if limit is not None:
                rows = rows[offset:offset + limit]
        # Errors and tags of all the rows in a few queries, not two per item.
        row_ids = [r["id"] for r in rows]
        errors: dict[int, list[dict]] = {}
        for e in select_in(self.store.read, "SELECT item_id, stage, message, time_utc FROM item_errors"
                           " WHERE item_id IN ({ids}) ORDER BY id", row_ids):
            errors.setdefault(e[0], []).append({"stage": e[1], "message": e[2], "time_utc": e[3]})
        tags: dict[int, list[str]] = {}
        for t in select_in(self.store.read, "SELECT it.item_id, t.name FROM item_tags it JOIN tags t ON t.id = it.tag_id"
                           " WHERE it.item_id IN ({ids}) ORDER BY t.name", row_ids):
            tags.setdefault(t[0], []).append(t[1])
        places = self._places([r for r in rows if r["gps_lat"] is not None])
        return [self._item_dict(r, errors.get(r["id"], []), tags.get(r["id"], []), places.get(r["id"]))
                for r in rows]

    def _item_dict(self, row, errors: list[dict], tags: list[str], place: dict | None) -> dict:
        from forensics.hashing.perceptual import to_hex

        d = dict(row)
        d["path"] = self.path_display(d)
        d["flags"] = d["flags"].split() if d["flags"] else []
        d["bookmarked"] = bool(d["bookmarked"])
        d["blank"] = bool(d["blank"])
        for h in ("phash", "dhash"):
            d[h] = to_hex(d[h]) if d[h] is not None else None
        d["errors"] = errors
        d["tags"] = tags
        d["place"] = place
        return d

    def _places(self, rows: list) -> dict[int, dict]:
        """The place and time zone looked up for each row's GPS position (forensics.places),
        in one query; absent while pending. A place looked up for another position (the
        item's GPS was corrected since) is not this one's (forensics.store.places_current)."""
        out: dict[int, dict] = {}
        for p in select_in(self.store.read, "SELECT p.item_id, p.status, p.note, p.locality, p.city, p.city_km,"
                           " p.state, p.country, p.country_code, p.distance_km, p.time_zone, p.geocoder"
                           f" FROM items i {current_places_join()} WHERE i.id IN ({{ids}})",
                           sorted(r["id"] for r in rows)):
            out[p["item_id"]] = {k: p[k] for k in p.keys() if k != "item_id"}
        return out

    def frames(self, video_id: int) -> list[dict]:
        """The sampled frames of a video, in frame order."""
        return self.items(kind="frame", ids=[r[0] for r in self.store.query(
            "SELECT id FROM items WHERE parent_id = ? ORDER BY frame_index", (video_id,))])

    # -- paths -----------------------------------------------------------------
    def path_display(self, item: dict) -> str:
        """The display path of a row holding `source_id` and `relpath`. For a file inside a
        disk image: the image, then the partition and the path inside it
        ('/ev/disk.E01 :: partition 1 (FAT32)/DCIM/x.jpg'); `relpath` alone is the in-image path."""
        src, kind = self._source_path(item["source_id"])
        if kind == "image":
            return f"{src} :: {item['relpath']}"
        return os.path.join(src, item["relpath"]) if item["relpath"] not in ("", ".") else src

    def image_location(self, item_id: int) -> dict | None:
        """Where an item inside a disk image lives (see forensics.diskimage.refs.location)."""
        from forensics.diskimage.refs import location

        return location(self.store, item_id)

    def display_path_of(self, item_id: int) -> str | None:
        """The display path of an item by id (a frame shows its video's path); None if absent."""
        return self.display_paths([item_id]).get(int(item_id))

    def display_paths(self, item_ids: Iterable[int]) -> dict[int, str]:
        """Display paths of many items at once (absent ids are left out)."""
        sql = ("SELECT i.id, COALESCE(p.source_id, i.source_id), COALESCE(p.relpath, i.relpath) FROM items i"
               " LEFT JOIN items p ON p.id = i.parent_id WHERE i.id IN ({ids})")
        return {r[0]: self.path_display({"source_id": r[1], "relpath": r[2]})
                for r in select_in(self.store.read, sql, sorted({int(i) for i in item_ids}))}

    def item_file(self, item_id: int) -> bytes | None:
        """Exact on-disk path (bytes) of a file item, or of a frame's video."""
        row = self.store.read.execute(
            "SELECT s.path_raw, COALESCE(i.relpath_raw, p.relpath_raw), s.kind FROM items i"
            " LEFT JOIN items p ON p.id = i.parent_id JOIN sources s ON s.id = i.source_id WHERE i.id = ?",
            (int(item_id),),
        ).fetchone()
        if row is None or row[1] is None or row[2] == "image":
            return None  # inside a disk image there is no host path: open it through the evidence opener
        return os.path.join(row[0], row[1]) if row[1] else row[0]

    def thumb_path(self, item_id: int) -> Path | None:
        """The cached thumbnail of an item, if it has one."""
        rel = self.store.scalar("SELECT thumb FROM items WHERE id = ?", (int(item_id),))
        return self.thumbs_dir / rel if rel else None

    def _source_path(self, source_id: int) -> tuple[str, str]:
        with self._lock:
            if source_id not in self._source_paths:
                row = self.store.read.execute("SELECT path, kind FROM sources WHERE id = ?", (source_id,)).fetchone()
                self._source_paths[source_id] = (row[0], row[1])
            return self._source_paths[source_id]

    # -- sources, categories, tags, counts ----------------------------------------
    def sources(self) -> list[dict]:
        """Evidence sources with their file count and bytes."""
        rows = self.store.query(
            "SELECT s.id, s.path, s.kind, s.label, s.added_utc, s.added_by,"
            " (SELECT COUNT(*) FROM items i WHERE i.source_id = s.id AND i.parent_id IS NULL) AS files,"
            " (SELECT COALESCE(SUM(size), 0) FROM items i WHERE i.source_id = s.id AND i.parent_id IS NULL) AS bytes"
            " FROM sources s ORDER BY s.id"
        )
        from forensics.diskimage.sources import source_details

        return [source_details(self.store, dict(r)) for r in rows]

    def categories(self) -> dict[int, str]:
        """Category number -> name."""
        return {r[0]: r[1] for r in self.store.query("SELECT id, name FROM categories ORDER BY id")}

    def tags(self) -> dict[str, int]:
        """Tag -> number of items carrying it."""
        return {r[0]: r[1] for r in self.store.query(
            "SELECT t.name, COUNT(it.item_id) FROM tags t LEFT JOIN item_tags it ON it.tag_id = t.id GROUP BY t.id ORDER BY t.name")}

    def stats(self) -> dict:
        """Counts by kind and type, errors, flags and sources (without the case record)."""
        q = self.store.query
        by_kind = {r[0]: r[1] for r in q("SELECT kind, COUNT(*) FROM items GROUP BY kind")}
        by_mime = {r[0] or "unknown": r[1] for r in q("SELECT mime, COUNT(*) FROM items WHERE kind != 'frame' GROUP BY mime ORDER BY 2 DESC")}
        flags: dict[str, int] = {}
        for (f,) in q("SELECT flags FROM items WHERE flags != ''"):
            for flag in f.split():
                flags[flag] = flags.get(flag, 0) + 1
        return {
            "files": self.store.scalar("SELECT COUNT(*) FROM items WHERE parent_id IS NULL"),
            "bytes": self.store.scalar("SELECT COALESCE(SUM(size), 0) FROM items WHERE parent_id IS NULL"),
            "by_kind": by_kind,
            "by_type": by_mime,
            "errors": self.store.scalar("SELECT COUNT(DISTINCT item_id) FROM item_errors"),
            "flags": flags,
            "sources": self.sources(),
            "audit_entries": self.store.scalar("SELECT COUNT(*) FROM audit_log"),
        }


def oriented_size(item: dict) -> tuple[int, int] | None:
    """(width, height) of an item as displayed: EXIF orientations 5-8 turn the picture a
    quarter, so the stored pixel size swaps. Face boxes are in these oriented pixels."""
    w, h = item.get("width") or 0, item.get("height") or 0
    if (item.get("orientation") or 1) in (5, 6, 7, 8):
        w, h = h, w
    return (w, h) if w and h else None


def item_changes(item: dict, *, category: int | None, tags: Iterable[str], note: str, bookmarked: bool) -> dict:
    """The `Case.tag_items` arguments that turn `item` (a catalogue record) into the values
    of an edit form: the category (cleared when the form has none), the tags added and
    removed, the note and the bookmark. Tags are trimmed; blank ones are dropped."""
    new_tags = {t.strip() for t in tags if t.strip()}
    old_tags = set(item.get("tags") or [])
    return {"category": category, "clear_category": category is None and item.get("category") is not None,
            "add_tags": sorted(new_tags - old_tags), "remove_tags": sorted(old_tags - new_tags),
            "note": note, "bookmarked": bookmarked}
