"""`case.hashsets`: import known-hash sets, match them against the case, apply categories."""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from forensics.clock import utc_now
from forensics.context import CaseContext
from forensics.copies.service import CopyService
from forensics.hashing.digests import sha256_file
from forensics.hashsets.formats import (
    EMPTY_FILE, BadRecord, FormatError, HashRecord, ReadPosition, detect, read_hashlist, read_nsrl,
)
from forensics.store.hashset_status import (
    APPLIES_CATEGORY, EFFECTIVE_CATEGORY_SQL, KNOWN_BAD, NON_PERTINENT, STATUS_RANK_SQL, entry_status, hidden_item_sql, sql_in,
)
from forensics.model import Cancelled, CaseError, Progress
from forensics.store.db import process_alive
from forensics.store.queries import marks, select_in, table_signature

KINDS = ("known-bad", "known-good")
BATCH = 50_000
REPORT_EVERY = 2_000  # records between progress reports and cancel checks (a check is one Event read)
MAX_STORED_ERRORS = 1000  # per set; the count of rejected records is always complete
PHASH_MATCH_MAX = 8  # alternative pHash within this many bits (pHash alone, so strict)
# Only sets in this state are listed, matched or allowed to categorise (see migration 0004).
READY = "s.state = 'ready'"


class HashSetService:
    """Known-hash sets of one case. Reached as `case.hashsets`."""

    def __init__(self, ctx: CaseContext, copies: CopyService) -> None:
        self.ctx = ctx
        self.copies = copies

    # -- import ---------------------------------------------------------------
    def import_file(self, path: str | os.PathLike, name: str, kind: str = "known-bad", category: int | None = None,
                    progress: Callable[[Progress], None] | None = None,
                    cancel: threading.Event | None = None) -> dict:
        """Import a hash set (format detected from the content), then match it against the
        case. Streams: memory stays bounded whatever the size of the file.

        `progress` gets `Progress(done, total)` in bytes of the file (rows of an NSRL
        table), with the hashes read so far in its message. When `cancel` is set the import
        stops between records and is rolled back: the set, its entries and its errors are
        deleted, the cancel is audited, and `Cancelled` is raised; a cancel that comes once
        every record is written no longer stops it (the set and its matches then commit
        together)."""
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
        self._drop_abandoned(name)
        if self.ctx.store.scalar("SELECT id FROM hash_sets WHERE name = ?", (name,)) is not None:
            raise CaseError(f"a hash set named {name!r} already exists in this case"
                            " (remove it first with 'forensics hashsets remove')")
        t0 = time.perf_counter()
        try:
            fmt = detect(path)
        except (FormatError, OSError) as exc:
            self.ctx.log("hashset.import", {"name": name, "kind": kind, "path": str(path)}, {"error": str(exc)})
            raise CaseError(f"cannot import {path} as a hash set: {exc}") from exc
        info: dict = {}
        pos = ReadPosition()
        if fmt == "hashlist":
            records: Iterator = read_hashlist(path, pos)
        elif fmt == "nsrl-rds3":
            records = read_nsrl(path, pos)
        else:
            records = read_vics(path, info, pos)
        source_sha = sha256_file(path)
        with self.ctx.store.write() as w:
            set_id = w.execute(
                "INSERT INTO hash_sets (name, kind, category, format, source_path, source_sha256, imported_utc, imported_by,"
                " state, import_pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'importing', ?)",
                (name, kind, category, fmt, str(path.resolve()), source_sha, utc_now(), self.ctx.examiner,
                 os.getpid())).lastrowid
        try:
            entries, rejected, zero = self._write_entries(set_id, kind, records, progress, pos, cancel)
            if entries == 0:  # an unrecognised or empty file must never pass as an empty set
                raise FormatError(f"no hash records found ({rejected} rejected lines or records)")
        except (Cancelled, KeyboardInterrupt):  # the GUI's Cancel, the CLI's Ctrl+C
            partial = self.ctx.store.scalar("SELECT COUNT(*) FROM hash_set_entries WHERE set_id = ?", (set_id,))
            with self.ctx.store.write() as w:  # rolled back and audited in one transaction
                self._delete_set(set_id)
                self.ctx.audit(w, "hashset.import", {"name": name, "kind": kind, "category": category,
                                                     "path": str(path.resolve()), "sha256": source_sha},
                               {"cancelled": True, "partial_entries_removed": partial})
            raise
        except BaseException as exc:
            if not isinstance(exc, (FormatError, ValueError, OSError, UnicodeError)):
                self._delete_set(set_id)  # cancelled or broken: nothing half-imported stays behind
                raise
            with self.ctx.store.write() as w:
                self._delete_set(set_id)
                self.ctx.audit(w, "hashset.import",
                             {"name": name, "kind": kind, "path": str(path), "sha256": source_sha}, {"error": str(exc)})
            raise CaseError(f"cannot import {path} as a hash set: {exc}") from exc
        if fmt == "vics-json":
            fmt = "vics-2.0" if info.get("version") == "2.0" else f"vics-{info.get('version', '1.x')}"
        # The flip and the matching are one transaction: the set starts to act complete or not at all.
        with self.ctx.store.write() as w:
            w.execute("UPDATE hash_sets SET entries = ?, rejected = ?, zero_length = ?, format = ?, source_info = ?,"
                      " state = 'ready', import_pid = NULL WHERE id = ?",
                      (entries, rejected, zero, fmt, json.dumps(info, default=str) if info else None, set_id))
            matched = self.match(set_ids=[set_id])
        result = {"set_id": set_id, "name": name, "kind": kind, "format": fmt, "entries": entries, "rejected": rejected,
                  "zero_length": zero, "by_status": self._status_counts(set_id), "source_sha256": source_sha,
                  "matched_items": matched["matched_items"], "categorised_items": matched["categorised_items"],
                  "seconds": round(time.perf_counter() - t0, 2)}
        self.ctx.log("hashset.import", {"name": name, "kind": kind, "category": category, "path": str(path.resolve()),
                                         "sha256": source_sha, "format": fmt}, result)
        return result

    def _status_counts(self, set_id: int) -> dict[str, int]:
        return {r[0]: r[1] for r in self.ctx.store.query(
            "SELECT status, COUNT(*) FROM hash_set_entries WHERE set_id = ? GROUP BY status ORDER BY status", (set_id,))}

    def _write_entries(self, set_id: int, kind: str, records: Iterable, progress, pos: ReadPosition,
                       cancel: threading.Event | None) -> tuple[int, int, int]:
        entries = rejected = zero = 0
        seen = 0
        batch: list[tuple] = []
        errors: list[tuple] = []

        def flush() -> None:
            with self.ctx.store.write() as w:
                w.executemany(
                    "INSERT INTO hash_set_entries (set_id, md5, sha1, sha256, category, series, victim_identified,"
                    " phash, alt_hashes, extra, status, offender_identified, is_distributed, media_size)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
                if errors:
                    w.executemany("INSERT INTO hash_set_errors (set_id, line, message) VALUES (?, ?, ?)", errors)
            batch.clear()
            errors.clear()

        def report() -> None:
            progress(Progress(pos.done, pos.total, rejected, message=f"hash set: {entries:,} hashes read"))

        for rec in records:
            seen += 1
            if seen % REPORT_EVERY == 0:
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"hash set import cancelled after {entries:,} hashes")
                if progress:
                    report()
            if isinstance(rec, BadRecord):
                rejected += 1
                if rejected <= MAX_STORED_ERRORS:
                    errors.append((set_id, rec.line, rec.message))
                continue
            batch.append(_row(set_id, kind, rec))
            entries += 1
            zero += any(getattr(rec, h) == EMPTY_FILE[h] for h in EMPTY_FILE)
            if len(batch) >= BATCH:
                flush()
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"hash set import cancelled after {entries:,} hashes")
        flush()
        if progress:
            report()
        return entries, rejected, zero

    # -- matching -------------------------------------------------------------
    def match(self, set_ids: list[int] | None = None) -> dict:
        """(Re)match sets against every item by MD5, SHA-1 and SHA-256 (and alternative
        pHash), then give unmatched-category items the category of their known-bad match.
        Run again after new evidence is ingested; `matches()` does so when items changed."""
        ids = set_ids or [r[0] for r in self.ctx.store.query(f"SELECT id FROM hash_sets s WHERE {READY}")]
        count, max_id = table_signature(self.ctx.store.read)
        with self.ctx.store.write() as w:
            for sid in ids:
                w.execute("DELETE FROM hash_matches WHERE set_id = ?", (sid,))
                for h in ("md5", "sha1", "sha256"):
                    w.execute(
                        f"INSERT OR IGNORE INTO hash_matches (item_id, set_id, entry_id, hash, distance)"
                        f" SELECT i.id, e.set_id, e.id, '{h}', 0 FROM items i JOIN hash_set_entries e"
                        f" ON e.{h} = i.{h} AND e.set_id = ? WHERE i.{h} IS NOT NULL AND i.{h} != ?"
                        f" AND COALESCE(i.size, 1) != 0", (sid, EMPTY_FILE[h]))  # an empty file never matches
        for sid in ids:
            self._match_phash(sid)
        with self.ctx.store.write() as w:
            # Each entry's own category decides (the set's category is the default of known-bad
            # entries without one); the most telling match wins: nearest, then known-bad over
            # other categories over non-pertinent, then the lower category number.
            effective = EFFECTIVE_CATEGORY_SQL
            applies = f"e.status IN {sql_in(APPLIES_CATEGORY)} AND {effective} IS NOT NULL"
            categorised = w.execute(
                f"UPDATE items SET category = (SELECT {effective} FROM hash_matches m"
                " JOIN hash_set_entries e ON e.id = m.entry_id JOIN hash_sets s ON s.id = m.set_id"
                f" WHERE m.item_id = items.id AND {applies}"
                f" ORDER BY m.distance, {STATUS_RANK_SQL},"
                f" {effective} LIMIT 1)"
                " WHERE category IS NULL AND id IN (SELECT m.item_id FROM hash_matches m JOIN hash_sets s ON s.id = m.set_id"
                f" JOIN hash_set_entries e ON e.id = m.entry_id WHERE {applies})").rowcount
            w.executemany("UPDATE hash_sets SET matched_max_item_id = ?, matched_items = ? WHERE id = ?",
                          [(max_id, count, sid) for sid in ids])
            matched = w.execute(
                f"SELECT COUNT(DISTINCT item_id) FROM hash_matches WHERE set_id IN ({marks(len(ids))})", ids
            ).fetchone()[0] if ids else 0
            self.ctx.audit(w, "hashset.match", {"set_ids": ids},
                         {"matched_items": matched, "categorised_items": categorised})
        return {"matched_items": matched, "categorised_items": categorised}

    def _match_phash(self, set_id: int) -> None:
        """Entries carrying a pHash alternative hash match items within PHASH_MATCH_MAX bits.

        Exact, with no size limit: the smaller side (the set's pHashes or the case's) is
        scanned against the packed larger side, so the cost is one XOR-popcount per pair,
        about 0.6 ns on the benchmark machine (10,000 items against 2 million entries: ~12 s)."""
        import numpy as np

        from forensics.copies.matrix import HashMatrix
        from forensics.copies.rule import CopyRule

        rows = self.ctx.store.read.execute(
            "SELECT id, phash FROM hash_set_entries WHERE set_id = ? AND phash IS NOT NULL", (set_id,)).fetchall()
        if not rows:
            return
        ent = np.array(rows, dtype=np.int64)
        del rows
        items = self.copies.matrix()
        if not len(items):
            return
        rule = CopyRule(PHASH_MATCH_MAX, 64, 128)
        out: list[tuple] = []
        if len(ent) <= len(items):
            for entry_id, ph in ent:
                for hit in items.scan(np.array([ph], np.int64), np.array([0], np.int64), rule, threads=1):
                    out.append((hit.item_id, set_id, int(entry_id), "phash", hit.d_phash))
        else:
            entries = HashMatrix(ent[:, 0], ent[:, 1], np.zeros(len(ent), np.int64))
            for item_id, ph in zip(items.ids.tolist(), items.phash.view(np.int64).tolist()):
                for hit in entries.scan(np.array([ph], np.int64), np.array([0], np.int64), rule):
                    out.append((item_id, set_id, hit.item_id, "phash", hit.d_phash))
        if out:
            with self.ctx.store.write() as w:
                w.executemany("INSERT OR IGNORE INTO hash_matches (item_id, set_id, entry_id, hash, distance)"
                              " VALUES (?, ?, ?, ?, ?)", out)

    # -- removal ----------------------------------------------------------------
    def remove(self, name_or_id: str | int) -> dict:
        """Remove an imported set with its entries and matches (audited). Categories that
        its matches gave to items stay: they are the examiner's to change."""
        row = self.ctx.store.read.execute(
            "SELECT id, name, kind, entries, source_sha256, state FROM hash_sets WHERE name = ? OR CAST(id AS TEXT) = ?",
            (str(name_or_id), str(name_or_id))).fetchone()
        if row is None:
            raise CaseError(f"no hash set named or numbered {name_or_id!r} in this case")
        matched = self.ctx.store.scalar("SELECT COUNT(DISTINCT item_id) FROM hash_matches WHERE set_id = ?", (row[0],))
        with self.ctx.store.write() as w:
            self._delete_set(row[0])
            result = {"set_id": row[0], "name": row[1], "kind": row[2], "entries": row[3],
                      "matched_items": matched, "state": row[5]}
            self.ctx.audit(w, "hashset.remove", {"name": row[1], "sha256": row[4]}, result)
        return result

    def _delete_set(self, set_id: int) -> None:
        with self.ctx.store.write() as w:
            w.execute("DELETE FROM hash_matches WHERE set_id = ?", (set_id,))
            w.execute("DELETE FROM hash_set_errors WHERE set_id = ?", (set_id,))
            w.execute("DELETE FROM hash_set_entries WHERE set_id = ?", (set_id,))
            w.execute("DELETE FROM hash_sets WHERE id = ?", (set_id,))

    def _drop_abandoned(self, name: str) -> None:
        """Remove a set of this name left half-imported by a killed run (its process is gone)."""
        row = self.ctx.store.read.execute(
            "SELECT id, import_pid, entries FROM hash_sets WHERE name = ? AND state = 'importing'", (name,)).fetchone()
        if row is None or (row[1] and row[1] != os.getpid() and process_alive(row[1])):
            return
        partial = self.ctx.store.scalar("SELECT COUNT(*) FROM hash_set_entries WHERE set_id = ?", (row[0],))
        with self.ctx.store.write() as w:
            self._delete_set(row[0])
            self.ctx.audit(w, "hashset.abandoned", {"name": name},
                         {"set_id": row[0], "partial_entries_removed": partial})

    def _refresh_if_stale(self) -> None:
        if self.ctx.store.readonly:  # a read-only case answers from the matches it holds
            return
        count, max_id = table_signature(self.ctx.store.read)
        stale = [r[0] for r in self.ctx.store.query(
            f"SELECT id FROM hash_sets s WHERE {READY} AND (matched_max_item_id != ? OR matched_items != ?)", (max_id, count))]
        if stale:
            self.match(stale)

    # -- reading ----------------------------------------------------------------
    def sets(self) -> list[dict]:
        """Imported sets with their counts, the number of case items they match, their
        entries by status (`kind` is only the default of entries without a category) and
        `category_handling`: how their entries categorise matching items, in words."""
        rows = [dict(r) for r in self.ctx.store.query(
            "SELECT s.id AS set_id, s.name, s.kind, s.category, s.format, s.source_path, s.source_sha256, s.entries,"
            " s.rejected, s.imported_utc, s.imported_by,"
            " (SELECT COUNT(DISTINCT item_id) FROM hash_matches m WHERE m.set_id = s.id) AS matched_items"
            f" FROM hash_sets s WHERE {READY} ORDER BY s.id")]
        for row in rows:
            row["statuses"] = self._status_counts(row["set_id"])
            row["category_handling"] = category_handling(row["format"], row["kind"], row["category"])
        return rows

    def detect_format(self, path: str | os.PathLike) -> str:
        """What `import_file` would read `path` as ('hashlist', 'nsrl-rds3', 'vics-json');
        CaseError for a file that is no hash set."""
        try:
            return detect(Path(path))
        except (FormatError, OSError) as exc:
            raise CaseError(f"cannot import {path} as a hash set: {exc}") from exc

    def unfinished(self) -> list[dict]:
        """Imports that have not completed (killed, or still running): never matched."""
        return [dict(r) for r in self.ctx.store.query(
            "SELECT s.id AS set_id, s.name, s.import_pid, s.imported_utc,"
            " (SELECT COUNT(*) FROM hash_set_entries e WHERE e.set_id = s.id) AS entries_so_far"
            " FROM hash_sets s WHERE s.state = 'importing' ORDER BY s.id")]

    def errors(self, set_id: int) -> list[dict]:
        return [dict(r) for r in self.ctx.store.query(
            "SELECT line, message FROM hash_set_errors WHERE set_id = ? ORDER BY id", (set_id,))]

    def matches(self, item_id: int | None = None) -> list[dict]:
        """Per matched item: which set, its kind, the category, series and hash that matched."""
        self._refresh_if_stale()
        sql, args = _MATCH_SQL, ()
        if item_id is not None:
            sql += " WHERE m.item_id = ?"
            args = (int(item_id),)
        out = [_match_dict(r) for r in self.ctx.store.query(sql + " ORDER BY m.item_id, s.id, m.distance", args)]
        paths = self.ctx.catalogue.display_paths(d["item_id"] for d in out)
        for d in out:
            d["path"] = paths[d["item_id"]]
        return out

    def matches_of(self, item_ids: Iterable[int]) -> dict[int, list[dict]]:
        """The matches of many items at once (as `matches`, without the path), by item id;
        items without a match are left out."""
        self._refresh_if_stale()
        out: dict[int, list[dict]] = {}
        rows = select_in(self.ctx.store.read, _MATCH_SQL + " WHERE m.item_id IN ({ids})", sorted({int(i) for i in item_ids}))
        for r in sorted(rows, key=lambda r: (r["item_id"], r["set_id"], r["distance"])):
            out.setdefault(r["item_id"], []).append(_match_dict(r))
        return out

    def match_summary(self) -> dict:
        """Matched items by set and by category, for reports."""
        self._refresh_if_stale()
        by_set = [dict(r) for r in self.ctx.store.query(
            "SELECT s.id AS set_id, s.name, s.kind, s.entries, COUNT(DISTINCT m.item_id) AS items FROM hash_sets s"
            f" LEFT JOIN hash_matches m ON m.set_id = s.id WHERE {READY} GROUP BY s.id ORDER BY s.id")]
        for row in by_set:  # what the set's entries are: one VICS file mixes categories
            row["statuses"] = self._status_counts(row["set_id"])
        effective = EFFECTIVE_CATEGORY_SQL
        joined = ("FROM hash_matches m JOIN hash_sets s ON s.id = m.set_id JOIN hash_set_entries e ON e.id = m.entry_id")

        def by_cat(where: str) -> dict:
            return {("none" if r[0] is None else r[0]): r[1] for r in self.ctx.store.query(
                f"SELECT {effective}, COUNT(DISTINCT m.item_id) {joined} WHERE {where} GROUP BY 1 ORDER BY 1")}

        known_bad = self.ctx.store.scalar(f"SELECT COUNT(DISTINCT m.item_id) {joined} WHERE e.status = '{KNOWN_BAD}'")
        non_pertinent = self.ctx.store.scalar(
            f"SELECT COUNT(DISTINCT m.item_id) {joined} WHERE e.status = '{NON_PERTINENT}'")
        return {"by_set": by_set, "known_bad_by_category": by_cat(f"e.status = '{KNOWN_BAD}'"),
                "by_category": by_cat(f"e.status IN {sql_in(APPLIES_CATEGORY)}"), "known_bad_items": known_bad,
                "non_pertinent_items": non_pertinent, "known_good_items": len(self.known_good_item_ids())}

    def known_good_item_ids(self) -> set[int]:
        """Items to hide as known-good: matching a known-good or non-pertinent (category 0)
        entry and no entry that says otherwise."""
        self._refresh_if_stale()
        return {r[0] for r in self.ctx.store.query(
            f"SELECT DISTINCT i.id FROM items i JOIN hash_matches m0 ON m0.item_id = i.id WHERE {hidden_item_sql('i.id')}")}

    def known_bad_item_ids(self) -> set[int]:
        self._refresh_if_stale()
        return {r[0] for r in self.ctx.store.query(
            "SELECT DISTINCT m.item_id FROM hash_matches m JOIN hash_set_entries e ON e.id = m.entry_id"
            f" WHERE e.status = '{KNOWN_BAD}'")}


_MATCH_SQL = ("SELECT m.item_id, s.id AS set_id, s.name AS set_name, e.status AS kind, s.kind AS set_kind,"
              f" {EFFECTIVE_CATEGORY_SQL} AS category,"
              " e.series, e.victim_identified, e.offender_identified, e.is_distributed, m.hash, m.distance,"
              " e.md5, e.sha1, e.sha256, e.extra"
              " FROM hash_matches m JOIN hash_sets s ON s.id = m.set_id JOIN hash_set_entries e ON e.id = m.entry_id")


def _match_dict(r) -> dict:
    d = dict(r)
    for k in ("victim_identified", "offender_identified", "is_distributed"):
        d[k] = None if d[k] is None else bool(d[k])
    d["extra"] = json.loads(d["extra"]) if d["extra"] else {}
    return d


def category_handling(fmt: str, kind: str, category: int | None) -> str:
    """How a set's entries categorise matching items, for people (the rule is
    forensics.store.hashset_status): VICS entries carry their own category, the set's kind
    and default category cover entries without one."""
    if kind == KNOWN_BAD:
        default = "known-bad, " + (f"category {category} given to matching items" if category is not None
                                   else "no category given")
    else:
        default = "known-good, hidden with 'hide known-good'"
    if fmt.startswith("vics"):
        return ("each entry's own VICS category (0 non-pertinent and hidden, 1-2 known-bad, 3-99 given to matching"
                f" items); entries without one: {default}")
    return f"every entry {default}"


def _bit(v: bool | None) -> int | None:
    return None if v is None else int(v)


def _row(set_id: int, kind: str, r: HashRecord) -> tuple:
    return (set_id, r.md5, r.sha1, r.sha256, r.category, r.series, _bit(r.victim_identified), r.phash,
            json.dumps(list(r.alt_hashes), default=str, ensure_ascii=False) if r.alt_hashes else None,
            json.dumps(r.extra, default=str, ensure_ascii=False) if r.extra else None,
            entry_status(r.category, kind), _bit(r.offender_identified), _bit(r.is_distributed), r.media_size)

