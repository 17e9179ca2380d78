"""`case.hashsets`: import known-hash sets, match them against the case, apply categories."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from forensics.clock import utc_now
from forensics.context import CaseContext
from forensics.copies.service import CopyService
from forensics.hashing.digests import sha256_file
from forensics.hashsets.formats import BadRecord, FormatError, HashRecord, detect, read_hashlist, read_nsrl
from forensics.model import CaseError, Progress
from forensics.store.queries import marks, table_signature

KINDS = ("known-bad", "known-good")
BATCH = 50_000
MAX_STORED_ERRORS = 1000  # per set; the count of rejected records is always complete
PHASH_MATCH_MAX = 8  # alternative pHash within this many bits (pHash alone, so strict)
PHASH_MATCH_LIMIT = 200_000  # sets with more pHash entries than this are matched by digest only


class HashSetService:
    """Known-hash sets of one case. Reached as `case.hashsets`."""

    def __init__(self, ctx: CaseContext, copies: CopyService) -> None:
        self.ctx = ctx
        self.copies = copies

    # -- import ---------------------------------------------------------------
    def import_file(self, path: str | os.PathLike, name: str, kind: str = "known-bad", category: int | None = None,
                    progress: Callable[[Progress], None] | None = None) -> dict:
        """Import a hash set (format detected from the content), then match it against the
        case. Streams: memory stays bounded whatever the size of the file."""
        from forensics.hashsets.vics import read_vics

        path = Path(path)
        if kind not in KINDS:
            raise CaseError(f"hash set kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if not name or not name.strip():
            raise CaseError("a hash set needs a name")
        if category is not None and not 0 <= int(category) <= 99:
            raise CaseError(f"category must be a number from 0 to 99, not {category}")
        if not path.is_file():
            raise CaseError(f"{path} is not a readable file")
        if self.ctx.store.scalar("SELECT id FROM hash_sets WHERE name = ?", (name,)) is not None:
            raise CaseError(f"a hash set named {name!r} already exists in this case")
        t0 = time.perf_counter()
        fmt = detect(path)
        info: dict = {}
        if fmt == "hashlist":
            records: Iterator = read_hashlist(path)
        elif fmt == "nsrl-rds3":
            records = read_nsrl(path)
        else:
            records = read_vics(path, info)
        source_sha = sha256_file(path)
        with self.ctx.store.write() as w:
            set_id = w.execute(
                "INSERT INTO hash_sets (name, kind, category, format, source_path, source_sha256, imported_utc, imported_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, kind, category, fmt, str(path.resolve()), source_sha, utc_now(), self.ctx.examiner)).lastrowid
        try:
            entries, rejected = self._write_entries(set_id, records, progress, path.stat().st_size)
        except (FormatError, ValueError, OSError, UnicodeError) as exc:
            with self.ctx.store.write() as w:
                w.execute("DELETE FROM hash_sets WHERE id = ?", (set_id,))
                self.ctx.audit(w, "hashset.import",
                             {"name": name, "kind": kind, "path": str(path), "sha256": source_sha}, {"error": str(exc)})
            raise CaseError(f"cannot import {path} as a hash set: {exc}") from exc
        if fmt == "vics-json":
            fmt = "vics-2.0" if info.get("version") == "2.0" else f"vics-{info.get('version', '1.x')}"
        with self.ctx.store.write() as w:
            w.execute("UPDATE hash_sets SET entries = ?, rejected = ?, format = ?, source_info = ? WHERE id = ?",
                      (entries, rejected, fmt, json.dumps(info, default=str) if info else None, set_id))
        matched = self.match(set_ids=[set_id])
        result = {"set_id": set_id, "name": name, "kind": kind, "format": fmt, "entries": entries, "rejected": rejected,
                  "source_sha256": source_sha, "matched_items": matched["matched_items"],
                  "categorised_items": matched["categorised_items"], "seconds": round(time.perf_counter() - t0, 2)}
        self.ctx.log("hashset.import", {"name": name, "kind": kind, "category": category, "path": str(path.resolve()),
                                         "sha256": source_sha, "format": fmt}, result)
        return result

    def _write_entries(self, set_id: int, records: Iterable, progress, total_bytes: int) -> tuple[int, int]:
        entries = rejected = 0
        batch: list[tuple] = []
        errors: list[tuple] = []

        def flush() -> None:
            with self.ctx.store.write() as w:
                w.executemany(
                    "INSERT INTO hash_set_entries (set_id, md5, sha1, sha256, category, series, victim_identified,"
                    " phash, alt_hashes, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
                if errors:
                    w.executemany("INSERT INTO hash_set_errors (set_id, line, message) VALUES (?, ?, ?)", errors)
            batch.clear()
            errors.clear()

        for rec in records:
            if isinstance(rec, BadRecord):
                rejected += 1
                if rejected <= MAX_STORED_ERRORS:
                    errors.append((set_id, rec.line, rec.message))
                continue
            batch.append(_row(set_id, rec))
            entries += 1
            if len(batch) >= BATCH:
                flush()
                if progress:
                    progress(Progress(entries, 0, rejected, message="hash set: importing"))
        flush()
        return entries, rejected

    # -- matching -------------------------------------------------------------
    def match(self, set_ids: list[int] | None = None) -> dict:
        """(Re)match sets against every item by MD5, SHA-1 and SHA-256 (and alternative
        pHash), then give unmatched-category items the category of their known-bad match.
        Run again after new evidence is ingested; `matches()` does so when items changed."""
        ids = set_ids or [r[0] for r in self.ctx.store.query("SELECT id FROM hash_sets")]
        count, max_id = table_signature(self.ctx.store.read)
        with self.ctx.store.write() as w:
            for sid in ids:
                w.execute("DELETE FROM hash_matches WHERE set_id = ?", (sid,))
                for h in ("md5", "sha1", "sha256"):
                    w.execute(
                        f"INSERT OR IGNORE INTO hash_matches (item_id, set_id, entry_id, hash, distance)"
                        f" SELECT i.id, e.set_id, e.id, '{h}', 0 FROM items i JOIN hash_set_entries e"
                        f" ON e.{h} = i.{h} AND e.set_id = ? WHERE i.{h} IS NOT NULL", (sid,))
        for sid in ids:
            self._match_phash(sid)
        with self.ctx.store.write() as w:
            categorised = w.execute(
                "UPDATE items SET category = (SELECT COALESCE(e.category, s.category) FROM hash_matches m"
                " JOIN hash_set_entries e ON e.id = m.entry_id JOIN hash_sets s ON s.id = m.set_id"
                " WHERE m.item_id = items.id AND s.kind = 'known-bad' AND COALESCE(e.category, s.category) IS NOT NULL"
                " ORDER BY m.distance, COALESCE(e.category, s.category) LIMIT 1)"
                " WHERE category IS NULL AND id IN (SELECT m.item_id FROM hash_matches m JOIN hash_sets s ON s.id = m.set_id"
                " JOIN hash_set_entries e ON e.id = m.entry_id WHERE s.kind = 'known-bad'"
                " AND COALESCE(e.category, s.category) IS NOT NULL)").rowcount
            w.executemany("UPDATE hash_sets SET matched_max_item_id = ?, matched_items = ? WHERE id = ?",
                          [(max_id, count, sid) for sid in ids])
            matched = w.execute(
                f"SELECT COUNT(DISTINCT item_id) FROM hash_matches WHERE set_id IN ({marks(len(ids))})", ids
            ).fetchone()[0] if ids else 0
            self.ctx.audit(w, "hashset.match", {"set_ids": ids},
                         {"matched_items": matched, "categorised_items": categorised})
        return {"matched_items": matched, "categorised_items": categorised}

    def _match_phash(self, set_id: int) -> None:
        """Bonus: entries carrying a pHash alternative hash match items within
        PHASH_MATCH_MAX bits (exact scan of the case's stored pHashes)."""
        import numpy as np

        from forensics.copies.rule import CopyRule

        n = self.ctx.store.scalar("SELECT COUNT(*) FROM hash_set_entries WHERE set_id = ? AND phash IS NOT NULL", (set_id,))
        if not n or n > PHASH_MATCH_LIMIT:
            return
        m = self.copies.matrix()
        rule = CopyRule(PHASH_MATCH_MAX, 64, 128)
        rows = []
        for entry_id, ph in self.ctx.store.read.execute(
                "SELECT id, phash FROM hash_set_entries WHERE set_id = ? AND phash IS NOT NULL", (set_id,)):
            for hit in m.scan(np.array([ph], np.int64), np.array([0], np.int64), rule, threads=1):
                rows.append((hit.item_id, set_id, entry_id, "phash", hit.d_phash))
        if rows:
            with self.ctx.store.write() as w:
                w.executemany("INSERT OR IGNORE INTO hash_matches (item_id, set_id, entry_id, hash, distance)"
                              " VALUES (?, ?, ?, ?, ?)", rows)

    def _refresh_if_stale(self) -> None:
        count, max_id = table_signature(self.ctx.store.read)
        stale = [r[0] for r in self.ctx.store.query(
            "SELECT id FROM hash_sets WHERE matched_max_item_id != ? OR matched_items != ?", (max_id, count))]
        if stale:
            self.match(stale)

    # -- reading ----------------------------------------------------------------
    def sets(self) -> list[dict]:
        """Imported sets with their counts and the number of case items they match."""
        return [dict(r) for r in self.ctx.store.query(
            "SELECT s.id AS set_id, s.name, s.kind, s.category, s.format, s.source_path, s.source_sha256, s.entries,"
            " s.rejected, s.imported_utc, s.imported_by,"
            " (SELECT COUNT(DISTINCT item_id) FROM hash_matches m WHERE m.set_id = s.id) AS matched_items"
            " FROM hash_sets s ORDER BY s.id")]

    def errors(self, set_id: int) -> list[dict]:
        return [dict(r) for r in self.ctx.store.query(
            "SELECT line, message FROM hash_set_errors WHERE set_id = ? ORDER BY id", (set_id,))]

    def matches(self, item_id: int | None = None) -> list[dict]:
        """Per matched item: which set, its kind, the category, series and hash that matched."""
        self._refresh_if_stale()
        sql = ("SELECT m.item_id, s.id AS set_id, s.name AS set_name, s.kind, COALESCE(e.category, s.category) AS category,"
               " e.series, e.victim_identified, m.hash, m.distance, e.md5, e.sha1, e.sha256"
               " FROM hash_matches m JOIN hash_sets s ON s.id = m.set_id JOIN hash_set_entries e ON e.id = m.entry_id")
        args: tuple = ()
        if item_id is not None:
            sql += " WHERE m.item_id = ?"
            args = (int(item_id),)
        sql += " ORDER BY m.item_id, s.id, m.distance"
        out = []
        for r in self.ctx.store.query(sql, args):
            d = dict(r)
            d["victim_identified"] = None if d["victim_identified"] is None else bool(d["victim_identified"])
            d["path"] = self.ctx.catalogue.display_path_of(d["item_id"])
            out.append(d)
        return out

    def match_summary(self) -> dict:
        """Matched items by set and by category, for reports."""
        self._refresh_if_stale()
        by_set = [dict(r) for r in self.ctx.store.query(
            "SELECT s.id AS set_id, s.name, s.kind, s.entries, COUNT(DISTINCT m.item_id) AS items FROM hash_sets s"
            " LEFT JOIN hash_matches m ON m.set_id = s.id GROUP BY s.id ORDER BY s.id")]
        by_category = {("none" if r[0] is None else r[0]): r[1] for r in self.ctx.store.query(
            "SELECT COALESCE(e.category, s.category), COUNT(DISTINCT m.item_id) FROM hash_matches m"
            " JOIN hash_sets s ON s.id = m.set_id JOIN hash_set_entries e ON e.id = m.entry_id"
            " WHERE s.kind = 'known-bad' GROUP BY 1 ORDER BY 1")}
        known_good = self.ctx.store.scalar(
            "SELECT COUNT(DISTINCT m.item_id) FROM hash_matches m JOIN hash_sets s ON s.id = m.set_id WHERE s.kind = 'known-good'")
        known_bad = self.ctx.store.scalar(
            "SELECT COUNT(DISTINCT m.item_id) FROM hash_matches m JOIN hash_sets s ON s.id = m.set_id WHERE s.kind = 'known-bad'")
        return {"by_set": by_set, "known_bad_by_category": by_category, "known_bad_items": known_bad,
                "known_good_items": known_good}

    def known_good_item_ids(self) -> set[int]:
        """Items matching a known-good set (to hide them in the gallery and reports)."""
        self._refresh_if_stale()
        return {r[0] for r in self.ctx.store.query(
            "SELECT DISTINCT m.item_id FROM hash_matches m JOIN hash_sets s ON s.id = m.set_id WHERE s.kind = 'known-good'")}


def _row(set_id: int, r: HashRecord) -> tuple:
    return (set_id, r.md5, r.sha1, r.sha256, r.category, r.series,
            None if r.victim_identified is None else int(r.victim_identified), r.phash,
            json.dumps(list(r.alt_hashes)) if r.alt_hashes else None,
            json.dumps(r.extra, default=str, ensure_ascii=False) if r.extra else None)

