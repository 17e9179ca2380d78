"""The `Case`: the one front door to a case folder.

A case is a folder holding `case.sqlite` (WAL, numbered migrations), `thumbs/`
(thumbnail cache), `index/` (hnswlib index files) and `reports/`. Evidence is referenced
in place and only ever opened read-only. Concerns beyond the catalogue live in services
reached from here (`case.faces`, `case.copies`, `case.hashsets`, `case.reports`).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensics import __version__, audit
from forensics.store.db import Store
from forensics.model import CaseError, ItemId, Progress, SourceId

if TYPE_CHECKING:
    from forensics.cluster import ClusterSpec
    from forensics.ingest.pipeline import IngestOptions, IngestSummary

DB_NAME = "case.sqlite"
ITEM_COLUMNS = (
    "id, kind, source_id, parent_id, relpath, size, mtime_utc, ctime_utc, atime_utc, md5, sha1, sha256, mime,"
    " link_target, width, height, orientation, duration, codec, fps, frame_count, frame_time, frame_index,"
    " taken_time, camera_make, camera_model, gps_lat, gps_lon, gps_alt, phash, dhash, blank, thumb, flags,"
    " status, ingested_utc, category, bookmarked, note"
)


def display_path(raw: bytes) -> str:
    """A path for people and JSON: UTF-8 where it is, \\xNN escapes where it is not."""
    return raw.decode("utf-8", errors="backslashreplace")


class Case:
    def __init__(self, path: Path, store: Store, examiner: str | None = None) -> None:
        self.path = Path(path)
        self.store = store
        row = store.read.execute("SELECT * FROM case_info WHERE id = 1").fetchone()
        if row is None:
            raise CaseError(f"{self.path} has no case record")
        self._info = dict(row)
        self.examiner = examiner or self._info["examiner"]
        self._source_paths: dict[int, str] = {}  # sources never move once added

    # -- lifecycle -------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, *, name: str, number: str, examiner: str,
               authority: str, description: str | None = None) -> "Case":
        """Create a new case folder. The legal authority (warrant or order reference) is required."""
        for label, value in (("name", name), ("number", number), ("examiner", examiner), ("authority", authority)):
            if not value or not str(value).strip():
                raise CaseError(f"a case needs a {label}" + (" (the legal basis: warrant or order reference)" if label == "authority" else ""))
        path = Path(path)
        if (path / DB_NAME).exists():
            raise CaseError(f"{path} already holds a case")
        path.mkdir(parents=True, exist_ok=True)
        for sub in ("thumbs", "index", "reports"):
            (path / sub).mkdir(exist_ok=True)
        store = Store(path / DB_NAME)
        with store.write() as w:
            w.execute(
                "INSERT INTO case_info (id, name, number, examiner, authority, created_utc, tool_version, description)"
                " VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                (name.strip(), number.strip(), examiner.strip(), authority.strip(), audit.utc_now(), __version__, description),
            )
            audit.append(w, examiner, "case.create",
                         {"name": name, "number": number, "authority": authority, "path": str(path.resolve())},
                         {"tool_version": __version__})
        return cls(path, store)

    @classmethod
    def open(cls, path: str | os.PathLike, examiner: str | None = None) -> "Case":
        path = Path(path)
        if not (path / DB_NAME).is_file():
            raise CaseError(f"{path} is not a case folder (no {DB_NAME}); create one with 'forensics case create'")
        return cls(path, Store(path / DB_NAME), examiner)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Case":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- case record -----------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        """Name, number, examiner, authority, creation time and tool version."""
        return dict(self._info)

    @property
    def authority(self) -> str:
        return self._info["authority"]

    @property
    def thumbs_dir(self) -> Path:
        return self.path / "thumbs"

    @property
    def index_dir(self) -> Path:
        return self.path / "index"

    @property
    def reports_dir(self) -> Path:
        return self.path / "reports"

    # -- audit -----------------------------------------------------------
    def log(self, action: str, params: dict, result: dict) -> audit.AuditEntry:
        """Append an audit entry in its own transaction."""
        with self.store.write() as w:
            return audit.append(w, self.examiner, action, params, result)

    def verify_audit(self) -> audit.ChainReport:
        return audit.verify(self.store.read)

    def audit_entries(self, action_prefix: str | None = None, limit: int | None = None) -> list[audit.AuditEntry]:
        return audit.entries(self.store.read, action_prefix, limit)

    # -- sources and ingest ------------------------------------------------
    def add_source(self, path: str | os.PathLike | bytes) -> SourceId:
        """Register an evidence folder or file (idempotent); returns its id."""
        raw = os.fsencode(os.path.abspath(os.fsdecode(path) if isinstance(path, bytes) else path))
        with self.store.write() as w:
            row = w.execute("SELECT id FROM sources WHERE path_raw = ?", (raw,)).fetchone()
            if row:
                return SourceId(row[0])
            cur = w.execute(
                "INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES (?, ?, ?, ?)",
                (display_path(raw), raw, audit.utc_now(), self.examiner),
            )
            sid = SourceId(cur.lastrowid)
            audit.append(w, self.examiner, "source.add", {"path": display_path(raw)}, {"source_id": sid})
            return sid

    def sources(self) -> list[dict]:
        rows = self.store.query(
            "SELECT s.id, s.path, s.label, s.added_utc, s.added_by,"
            " (SELECT COUNT(*) FROM items i WHERE i.source_id = s.id AND i.parent_id IS NULL) AS files,"
            " (SELECT COALESCE(SUM(size), 0) FROM items i WHERE i.source_id = s.id AND i.parent_id IS NULL) AS bytes"
            " FROM sources s ORDER BY s.id"
        )
        return [dict(r) for r in rows]

    def ingest(self, sources: Iterable[str | os.PathLike | bytes], options: "IngestOptions | None" = None,
               progress: Callable[[Progress], None] | None = None,
               cancel: threading.Event | None = None,
               on_committed: Callable[[list[ItemId]], None] | None = None,
               cluster: "ClusterSpec | None" = None) -> "IngestSummary":
        """Catalogue every file under the sources. Resumable: what is committed is kept and
        skipped next time; a cancelled or killed run can simply be run again. With `cluster`
        the per-file work runs on Dask workers (`forensics.cluster`); the records are the same."""
        from forensics.ingest.pipeline import IngestOptions, run_ingest

        source_ids = [self.add_source(s) for s in sources]
        return run_ingest(self, source_ids, options or IngestOptions(), progress, cancel, on_committed,
                          cluster=cluster)

    def analyse(self, progress: Callable[[Progress], None] | None = None,
                cancel: threading.Event | None = None) -> dict:
        """Bring the case-wide results up to date after new evidence: hash-set matches,
        copy groups, and face clusters (new faces are suggested to named persons, never
        confirmed). Each step is audited by its service; a failing step is recorded and
        the others still run."""
        from forensics.model import Cancelled

        def faces() -> dict:
            if not self.store.scalar("SELECT COUNT(*) FROM faces"):
                return {"skipped": "no faces in the case"}
            return self.faces.cluster()

        def copies() -> dict:
            last = self.copies.last_run()
            if last is not None and not last["stale"]:
                return {"skipped": "copy groups are up to date", **last["result"]}
            return self.copies.group(progress, cancel)

        steps = [
            ("hashsets", lambda: self.hashsets.match() if self.hashsets.sets() else {"skipped": "no hash sets imported"}),
            ("copies", copies),
            ("faces", faces),
        ]
        out: dict[str, Any] = {}
        for name, step in steps:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            try:
                out[name] = step()
            except Cancelled:
                raise
            except Exception as exc:  # one broken step must not hide the others' results
                out[name] = {"error": f"{type(exc).__name__}: {exc}"}
                self.log("analyse.error", {"step": name}, out[name])
        return out

    # -- items -----------------------------------------------------------
    def item(self, item_id: int) -> dict | None:
        row = self.store.read.execute(f"SELECT {ITEM_COLUMNS} FROM items WHERE id = ?", (item_id,)).fetchone()
        return self._item_dict(row) if row else None

    def items(self, kind: str | None = None, ids: Iterable[int] | None = None,
              include_frames: bool = True, limit: int | None = None, offset: int = 0) -> list[dict]:
        """Items as plain dicts (hashes, type, EXIF summary, flags, errors, tags)."""
        sql = f"SELECT {ITEM_COLUMNS} FROM items WHERE 1=1"
        args: list[Any] = []
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        if not include_frames:
            sql += " AND kind != 'frame'"
        if ids is not None:
            id_list = list(ids)
            sql += f" AND id IN ({','.join('?' * len(id_list))})"
            args.extend(id_list)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return [self._item_dict(r) for r in self.store.read.execute(sql, args)]

    def _item_dict(self, row) -> dict:
        d = dict(row)
        d["path"] = self.item_path_display(d)
        d["flags"] = d["flags"].split() if d["flags"] else []
        d["bookmarked"] = bool(d["bookmarked"])
        d["blank"] = bool(d["blank"])
        from forensics.hashing.perceptual import to_hex

        for h in ("phash", "dhash"):
            d[h] = to_hex(d[h]) if d[h] is not None else None
        d["errors"] = [dict(e) for e in self.store.read.execute(
            "SELECT stage, message, time_utc FROM item_errors WHERE item_id = ? ORDER BY id", (d["id"],))]
        d["tags"] = [r[0] for r in self.store.read.execute(
            "SELECT t.name FROM item_tags it JOIN tags t ON t.id = it.tag_id WHERE it.item_id = ? ORDER BY t.name", (d["id"],))]
        return d

    def item_path_display(self, item: dict) -> str:
        src = self._source_path(item["source_id"])
        return os.path.join(src, item["relpath"]) if item["relpath"] not in ("", ".") else src

    def item_file(self, item_id: int) -> bytes | None:
        """Exact on-disk path (bytes) of a file item, or of a frame's video."""
        row = self.store.read.execute(
            "SELECT s.path_raw, COALESCE(i.relpath_raw, p.relpath_raw) FROM items i"
            " LEFT JOIN items p ON p.id = i.parent_id JOIN sources s ON s.id = i.source_id WHERE i.id = ?",
            (item_id,),
        ).fetchone()
        if row is None or row[1] is None:
            return None
        return os.path.join(row[0], row[1]) if row[1] else row[0]

    def _source_path(self, source_id: int) -> str:
        if source_id not in self._source_paths:
            self._source_paths[source_id] = self.store.scalar("SELECT path FROM sources WHERE id = ?", (source_id,))
        return self._source_paths[source_id]

    def thumb_path(self, item_id: int) -> Path | None:
        rel = self.store.scalar("SELECT thumb FROM items WHERE id = ?", (item_id,))
        return self.thumbs_dir / rel if rel else None

    def frames(self, video_id: int) -> list[dict]:
        return self.items(kind="frame", ids=[r[0] for r in self.store.query(
            "SELECT id FROM items WHERE parent_id = ? ORDER BY frame_index", (video_id,))])

    def stats(self) -> dict:
        """Counts by kind and type, errors, flags and sources, for `forensics info`."""
        q = self.store.query
        by_kind = {r[0]: r[1] for r in q("SELECT kind, COUNT(*) FROM items GROUP BY kind")}
        by_mime = {r[0] or "unknown": r[1] for r in q("SELECT mime, COUNT(*) FROM items WHERE kind != 'frame' GROUP BY mime ORDER BY 2 DESC")}
        flags: dict[str, int] = {}
        for (f,) in q("SELECT flags FROM items WHERE flags != ''"):
            for flag in f.split():
                flags[flag] = flags.get(flag, 0) + 1
        return {
            "case": self.info,
            "files": self.store.scalar("SELECT COUNT(*) FROM items WHERE parent_id IS NULL"),
            "bytes": self.store.scalar("SELECT COALESCE(SUM(size), 0) FROM items WHERE parent_id IS NULL"),
            "by_kind": by_kind,
            "by_type": by_mime,
            "errors": self.store.scalar("SELECT COUNT(DISTINCT item_id) FROM item_errors"),
            "flags": flags,
            "sources": self.sources(),
            "audit_entries": self.store.scalar("SELECT COUNT(*) FROM audit_log"),
        }

    # -- categories, tags, notes, bookmarks ---------------------------------
    def categories(self) -> dict[int, str]:
        return {r[0]: r[1] for r in self.store.query("SELECT id, name FROM categories ORDER BY id")}

    def set_category_name(self, number: int, name: str) -> None:
        with self.store.write() as w:
            w.execute("INSERT INTO categories (id, name) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name", (number, name))
            audit.append(w, self.examiner, "category.rename", {"category": number, "name": name}, {})

    def tag_items(self, item_ids: Iterable[int], *, category: int | None = None, clear_category: bool = False,
                  add_tags: Iterable[str] = (), remove_tags: Iterable[str] = (), note: str | None = None,
                  bookmarked: bool | None = None, whole_copy_group: bool = False) -> dict:
        """Categorise, tag, annotate or bookmark items in one audited transaction.

        Returns the previous state of every touched item so a caller can undo."""
        ids = sorted({int(i) for i in item_ids})
        if whole_copy_group and ids:
            ids = sorted(set(ids) | set(self.copies.group_members(ids)))
        add_tags, remove_tags = list(add_tags), list(remove_tags)
        if category is not None and not 0 <= category <= 99:
            raise CaseError(f"category must be a number from 0 to 99, not {category}")
        with self.store.write() as w:
            before = {}
            for i in ids:
                row = w.execute("SELECT category, bookmarked, note FROM items WHERE id = ?", (i,)).fetchone()
                if row is None:
                    raise CaseError(f"no item {i} in this case")
                tags = [r[0] for r in w.execute("SELECT t.name FROM item_tags it JOIN tags t ON t.id = it.tag_id WHERE it.item_id = ?", (i,))]
                before[i] = {"category": row[0], "bookmarked": bool(row[1]), "note": row[2], "tags": sorted(tags)}
            marks = ",".join("?" * len(ids))
            if category is not None or clear_category:
                w.execute(f"UPDATE items SET category = ? WHERE id IN ({marks})", [None if clear_category else category, *ids])
            if bookmarked is not None:
                w.execute(f"UPDATE items SET bookmarked = ? WHERE id IN ({marks})", [int(bookmarked), *ids])
            if note is not None:
                w.execute(f"UPDATE items SET note = ? WHERE id IN ({marks})", [note or None, *ids])
            for t in add_tags:
                w.execute("INSERT OR IGNORE INTO tags (name) VALUES (?)", (t,))
                tid = w.execute("SELECT id FROM tags WHERE name = ?", (t,)).fetchone()[0]
                w.executemany("INSERT OR IGNORE INTO item_tags (item_id, tag_id) VALUES (?, ?)", [(i, tid) for i in ids])
            for t in remove_tags:
                w.execute(f"DELETE FROM item_tags WHERE tag_id = (SELECT id FROM tags WHERE name = ?) AND item_id IN ({marks})", [t, *ids])
            audit.append(w, self.examiner, "item.tag",
                         {"items": ids, "category": category, "clear_category": clear_category, "add_tags": add_tags,
                          "remove_tags": remove_tags, "note": note, "bookmarked": bookmarked, "whole_copy_group": whole_copy_group},
                         {"items": len(ids)})
        return before

    def restore_items(self, before: dict[int, dict]) -> None:
        """Undo a `tag_items` call from the state it returned."""
        with self.store.write() as w:
            for i, st in before.items():
                w.execute("UPDATE items SET category = ?, bookmarked = ?, note = ? WHERE id = ?",
                          (st["category"], int(st["bookmarked"]), st["note"], int(i)))
                w.execute("DELETE FROM item_tags WHERE item_id = ?", (int(i),))
                for t in st["tags"]:
                    w.execute("INSERT OR IGNORE INTO tags (name) VALUES (?)", (t,))
                    w.execute("INSERT OR IGNORE INTO item_tags (item_id, tag_id) SELECT ?, id FROM tags WHERE name = ?", (int(i), t))
            audit.append(w, self.examiner, "item.undo", {"items": sorted(int(i) for i in before)}, {"restored": len(before)})

    def tags(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.store.query(
            "SELECT t.name, COUNT(it.item_id) FROM tags t LEFT JOIN item_tags it ON it.tag_id = t.id GROUP BY t.id ORDER BY t.name")}

    # -- services ------------------------------------------------------------
    @cached_property
    def faces(self):
        """Face detection, search, tracks, clustering and persons (forensics.faces)."""
        from forensics.faces.service import FaceService

        return FaceService(self)

    @cached_property
    def copies(self):
        """Copy groups and search by image (forensics.copies)."""
        from forensics.copies.service import CopyService

        return CopyService(self)

    @cached_property
    def hashsets(self):
        """Known-hash sets: import, match, VICS (forensics.hashsets)."""
        from forensics.hashsets.service import HashSetService

        return HashSetService(self)

    @cached_property
    def reports(self):
        """Examiner reports and evidence verification (forensics.report)."""
        from forensics.report.service import ReportService

        return ReportService(self)
