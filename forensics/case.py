"""The `Case`: the one front door to a case folder.

A case is a folder holding `case.sqlite` (WAL, numbered migrations), `thumbs/`
(thumbnail cache), `index/` (hnswlib index files) and `reports/`. Evidence is referenced
in place and only ever opened read-only.

`Case` builds the case context (forensics.context) and composes the services on it
(`case.faces`, `case.copies`, `case.hashsets`, `case.reports`). It owns every sequence
that both front ends run: ingest followed by analysis, report export, evidence
verification. The CLI and the GUI call these methods and never re-implement them.
"""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensics import __version__, audit
from forensics.catalogue import display_path
from forensics.clock import utc_now
from forensics.context import DB_NAME, CaseContext, CasePaths
from forensics.model import CaseError, ItemId, Progress, SourceId, describe_error
from forensics.store.db import Store
from forensics.store.queries import chunks, marks

if TYPE_CHECKING:
    from forensics.browse import ItemFilter
    from forensics.cluster import ClusterSpec
    from forensics.copies.service import CopyService
    from forensics.faces.service import FaceService
    from forensics.hashsets.service import HashSetService
    from forensics.places.service import PlaceService
    from forensics.ingest.pipeline import IngestOptions, IngestSummary
    from forensics.report.service import ReportService


class Case:
    def __init__(self, path: Path, store: Store, examiner: str | None = None) -> None:
        self.path = Path(path)
        self.store = store
        try:
            self.ctx = CaseContext.open(self.path, store, examiner)
        except CaseError:
            raise CaseError(f"{self.path} has no case record") from None
        self.catalogue = self.ctx.catalogue

    @property
    def examiner(self) -> str:
        """The acting examiner (the caller's, else the OS user; never the case creator by default)."""
        return self.ctx.examiner

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
        if path.is_dir() and any(path.iterdir()):
            raise CaseError(f"{path} is not empty and is not a case folder; choose a new or empty folder")
        if path.exists() and not path.is_dir():
            raise CaseError(f"{path} is a file, not a folder")
        path.mkdir(parents=True, exist_ok=True)
        paths = CasePaths(path)
        for sub in (paths.thumbs, paths.index, paths.reports):
            sub.mkdir(exist_ok=True)
        store = Store(path / DB_NAME)
        case_id = uuid.uuid4().hex
        trail = audit.AuditTrail(store, case_id, examiner.strip())
        with store.write() as w:
            w.execute(
                "INSERT INTO case_info (id, name, number, examiner, authority, created_utc, tool_version, description,"
                " case_id) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name.strip(), number.strip(), examiner.strip(), authority.strip(), utc_now(), __version__,
                 description, case_id),
            )
            # the signed genesis: an empty or re-created log can never start like this one
            trail.append(w, audit.GENESIS_ACTION, trail.genesis_params(
                {"name": name, "number": number, "authority": authority, "path": str(path.resolve())}),
                {"tool_version": __version__})
        return cls(path, store, examiner)

    @classmethod
    def open(cls, path: str | os.PathLike, examiner: str | None = None, readonly: bool = False) -> "Case":
        """Open a case folder; `readonly` never writes it (works on a full disk or read-only media)."""
        path = Path(path)
        if not (path / DB_NAME).is_file():
            raise CaseError(f"{path} is not a case folder (no {DB_NAME}); create one with 'forensics case create'")
        return cls(path, Store(path / DB_NAME, readonly=readonly), examiner)

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
        return self.ctx.record.as_dict()

    @property
    def authority(self) -> str:
        return self.ctx.record.authority

    @property
    def thumbs_dir(self) -> Path:
        return self.ctx.paths.thumbs

    @property
    def index_dir(self) -> Path:
        return self.ctx.paths.index

    @property
    def reports_dir(self) -> Path:
        return self.ctx.paths.reports

    # -- audit -----------------------------------------------------------
    def log(self, action: str, params: dict, result: dict) -> audit.AuditEntry:
        """Append a signed audit entry in its own transaction."""
        return self.ctx.log(action, params, result)

    def log_or_warn(self, action: str, params: dict, result: dict) -> tuple[audit.AuditEntry | None, str | None]:
        """See `CaseContext.log_or_warn`."""
        return self.ctx.log_or_warn(action, params, result)

    def set_examiner(self, examiner: str) -> None:
        """Change who is acting. The switch is itself an audit entry, from whoever wrote the
        last entry (nothing is written when that is already this examiner)."""
        examiner = examiner.strip()
        if not examiner:
            raise CaseError("an examiner needs a name")
        if examiner != self.examiner:
            self.ctx.trail.act_as(examiner)
        last = self.store.scalar("SELECT examiner FROM audit_log ORDER BY seq DESC LIMIT 1")
        if last != examiner:
            self.log(audit.SWITCH_ACTION, {"from": last, "to": examiner}, {})

    def verify_audit(self, witness_files: Iterable[str | os.PathLike] = (), local_witness: bool = True):
        """Verify the signed audit log against witness files or reports (and, by default, the
        witness files of this machine's examiners); returns a `forensics.audit_verify.Verdict`."""
        return audit.verify(self.store.read, list(witness_files), local_witness)

    def signed_head(self) -> dict | None:
        """The current audit head signed by the acting examiner, for reports and exports."""
        return self.ctx.signed_head()

    def audit_entries(self, action_prefix: str | None = None, limit: int | None = None) -> list[audit.AuditEntry]:
        return audit.entries(self.store.read, action_prefix, limit)

    # -- sources and ingest ------------------------------------------------
    def add_source(self, path: str | os.PathLike | bytes) -> SourceId:
        """Register an evidence folder or file (idempotent); returns its id."""
        raw = os.fsencode(os.path.abspath(os.fsdecode(path) if isinstance(path, bytes) else path))
        self._refuse_overlap(raw)
        with self.store.write() as w:
            row = w.execute("SELECT id FROM sources WHERE path_raw = ?", (raw,)).fetchone()
            if row:
                return SourceId(row[0])
            cur = w.execute(
                "INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES (?, ?, ?, ?)",
                (display_path(raw), raw, utc_now(), self.examiner),
            )
            sid = SourceId(cur.lastrowid)
            from forensics.diskimage.images import image_format

            fmt = image_format(os.fsdecode(raw))
            result: dict[str, Any] = {"source_id": sid}
            if fmt is not None:  # a disk image: read through its file systems, not as one file
                from forensics.ingest.images import register_image

                img = register_image(w, sid, os.fsdecode(raw), fmt)
                result.update(kind="image", format=img["format"], segments=img["segments"],
                              media_size=img["media_size"], stored_md5=img["stored_md5"], stored_sha1=img["stored_sha1"])
            self.ctx.audit(w, "source.add", {"path": display_path(raw)}, result)
            return sid

    def source_alerts(self) -> list[str]:
        """Problems with the evidence itself (acquisition-hash mismatch, unreadable image or
        partition), one line each, for the workbench."""
        from forensics.diskimage.sources import source_alerts

        return source_alerts(self.store)
    def _refuse_overlap(self, raw: bytes) -> None:
        """A case inside its evidence, or evidence inside its case, would catalogue the
        case's own database and thumbnails and never settle: refuse both."""
        src = os.path.realpath(raw)
        case = os.path.realpath(os.fsencode(self.path))
        if src == case or case.startswith(src.rstrip(b"/") + b"/"):
            raise CaseError(f"the case folder {self.path} is inside the source {display_path(raw)}: the tool would"
                            " catalogue its own database and thumbnails. Keep the case folder outside the evidence")
        if src.startswith(case + b"/"):
            raise CaseError(f"the source {display_path(raw)} is inside the case folder {self.path}:"
                            " evidence must be kept outside the case folder")

    def sources(self) -> list[dict]:
        return self.catalogue.sources()

    def ingest(self, sources: Iterable[str | os.PathLike | bytes], options: "IngestOptions | None" = None,
               progress: Callable[[Progress], None] | None = None,
               cancel: threading.Event | None = None,
               on_committed: Callable[[list[ItemId]], None] | None = None,
               retry_failed: bool = False,
               cluster: "ClusterSpec | None" = None) -> "IngestSummary":
        """Catalogue every file under the sources. Resumable: what is committed is kept and
        skipped next time; a cancelled or killed run can simply be run again. Files that
        failed for a reason that can pass are tried again; `retry_failed` retries all failed files.
        With `cluster` the per-file work runs on Dask workers (`forensics.cluster`); the
        records are the same."""
        from forensics.ingest.pipeline import IngestOptions, run_ingest

        source_ids = [self.add_source(s) for s in sources]
        summary = run_ingest(self.ctx, source_ids, options or IngestOptions(), progress, cancel, on_committed,
                             retry_failed=retry_failed, cluster=cluster)
        if summary.retried and "copies" in vars(self):
            self.copies.invalidate()  # same item count, new hashes: reload the hash matrix
        return summary

    def ingest_and_analyse(self, sources: Iterable[str | os.PathLike | bytes], options: "IngestOptions | None" = None,
                           progress: Callable[[Progress], None] | None = None,
                           cancel: threading.Event | None = None,
                           on_committed: Callable[[list[ItemId]], None] | None = None,
                           analysis: bool = True,
                           on_analysis: Callable[[], None] | None = None,
                           retry_failed: bool = False,
                           cluster: "ClusterSpec | None" = None) -> "IngestSummary":
        """Ingest, then bring hash-set matches, copy groups and face clusters up to date
        (`analyse`), the sequence both the CLI and the workbench run after adding evidence.
        The analysis results are on the summary (`summary.analysis`); a cancelled ingest
        is not analysed. `on_analysis` is called when the analysis starts."""
        summary = self.ingest(sources, options, progress, cancel, on_committed, retry_failed, cluster=cluster)
        if analysis and not summary.cancelled:
            if on_analysis is not None:
                on_analysis()
            summary.analysis = self.analyse(progress, cancel)
        return summary

    def analyse(self, progress: Callable[[Progress], None] | None = None,
                cancel: threading.Event | None = None) -> dict:
        """Bring the case-wide results up to date after new evidence: place names of GPS
        positions (back-filling cases ingested before they existed), hash-set matches,
        copy groups, and face clusters (new faces are suggested to named persons, never
        confirmed). Each step is audited by its service; a failing step is recorded and
        the others still run."""
        from forensics.model import Cancelled

        def faces() -> dict:
            if not self.store.scalar("SELECT COUNT(*) FROM faces"):
                return {"skipped": "no faces in the case"}
            return self.faces.cluster()

        def copies() -> dict:
            result, ran = self.copies.group_if_stale(progress, cancel)
            return result if ran else {"skipped": "copy groups are up to date", **result}

        def places() -> dict:
            if not self.places.pending():
                return {"skipped": "every GPS position has a place name"}
            return self.places.update(progress, cancel)

        steps = [
            ("places", places),
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
                out[name] = {"error": f"{describe_error(exc)}"}
                self.log("analyse.error", {"step": name}, out[name])
        return out

    # -- items (the catalogue) -------------------------------------------------
    def item(self, item_id: int) -> dict | None:
        return self.catalogue.item(item_id)

    def items(self, kind: str | None = None, ids: Iterable[int] | None = None,
              include_frames: bool = True, limit: int | None = None, offset: int = 0) -> list[dict]:
        """Items as plain dicts (hashes, type, EXIF summary, flags, errors, tags)."""
        return self.catalogue.items(kind, ids, include_frames, limit, offset)

    def items_detailed(self, kind: str | None = None, ids: Iterable[int] | None = None,
                       include_frames: bool = True, limit: int | None = None, offset: int = 0) -> list[dict]:
        """`items`, each also with its `category_name`, its `hash_matches` (as
        `hashsets.matches`, without the path) and its `persons` (persons and clusters its
        faces link to, see `faces.persons_of_items`): what a script needs in one call.
        Fetched in a few batched queries whatever the number of items."""
        items = self.catalogue.items(kind, ids, include_frames, limit, offset)
        ids_ = [i["id"] for i in items]
        names = self.catalogue.categories()
        matches = self.hashsets.matches_of(ids_)
        persons = self.faces.persons_of_items(ids_)
        for i in items:
            i["category_name"] = names.get(i["category"]) if i["category"] is not None else None
            i["hash_matches"] = matches.get(i["id"], [])
            i["persons"] = persons.get(i["id"], [])
        return items

    def item_path_display(self, item: dict) -> str:
        return self.catalogue.path_display(item)

    def item_location(self, item_id: int) -> dict | None:
        """For an item inside a disk image: image, partition and its offset, path inside the
        file system, entry (inode / MFT entry), attribute, allocation; None for a host file."""
        return self.catalogue.image_location(item_id)

    def item_locator(self, item_id: int):
        """What a worker process needs to open the item (a host path, or an ImageRef)."""
        return self.ctx.evidence.locate(item_id)

    def open_item(self, item_id: int, verify: bool = False):
        """The item's bytes as a read-only binary stream, wherever they live."""
        return self.ctx.evidence.open_item(item_id, verify=verify)

    def item_file(self, item_id: int) -> bytes | None:
        """Exact on-disk path (bytes) of a file item, or of a frame's video."""
        return self.catalogue.item_file(item_id)

    def thumb_path(self, item_id: int) -> Path | None:
        return self.catalogue.thumb_path(item_id)

    def frames(self, video_id: int) -> list[dict]:
        return self.catalogue.frames(video_id)

    def stats(self) -> dict:
        """Counts by kind and type, errors, flags, sources and ingest runs, for `forensics info`."""
        from forensics.ingest.runs import run_states

        return {"case": self.info, **self.catalogue.stats(), "ingest_runs": run_states(self.ctx)}

    # -- categories, tags, notes, bookmarks ---------------------------------
    def categories(self) -> dict[int, str]:
        return self.catalogue.categories()

    def set_category_name(self, number: int, name: str) -> None:
        with self.store.write() as w:
            w.execute("INSERT INTO categories (id, name) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name", (number, name))
            self.ctx.audit(w, "category.rename", {"category": number, "name": name}, {})

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
            for chunk in chunks(ids):
                m = marks(len(chunk))
                if category is not None or clear_category:
                    w.execute(f"UPDATE items SET category = ? WHERE id IN ({m})", [None if clear_category else category, *chunk])
                if bookmarked is not None:
                    w.execute(f"UPDATE items SET bookmarked = ? WHERE id IN ({m})", [int(bookmarked), *chunk])
                if note is not None:
                    w.execute(f"UPDATE items SET note = ? WHERE id IN ({m})", [note or None, *chunk])
            for t in add_tags:
                w.execute("INSERT OR IGNORE INTO tags (name) VALUES (?)", (t,))
                tid = w.execute("SELECT id FROM tags WHERE name = ?", (t,)).fetchone()[0]
                w.executemany("INSERT OR IGNORE INTO item_tags (item_id, tag_id) VALUES (?, ?)", [(i, tid) for i in ids])
            for t in remove_tags:
                for chunk in chunks(ids):
                    w.execute("DELETE FROM item_tags WHERE tag_id = (SELECT id FROM tags WHERE name = ?)"
                              f" AND item_id IN ({marks(len(chunk))})", [t, *chunk])
            self.ctx.audit(w, "item.tag",
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
            self.ctx.audit(w, "item.undo", {"items": sorted(int(i) for i in before)}, {"restored": len(before)})

    def tags(self) -> dict[str, int]:
        return self.catalogue.tags()

    # -- services ------------------------------------------------------------
    @cached_property
    def faces(self) -> "FaceService":
        """Face detection, search, tracks, clustering and persons (forensics.faces)."""
        from forensics.faces.service import FaceService

        return FaceService(self.ctx)

    @cached_property
    def copies(self) -> "CopyService":
        """Copy groups and search by image (forensics.copies)."""
        from forensics.copies.service import CopyService

        return CopyService(self.ctx)

    @cached_property
    def hashsets(self) -> "HashSetService":
        """Known-hash sets: import, match, VICS (forensics.hashsets)."""
        from forensics.hashsets.service import HashSetService

        return HashSetService(self.ctx, self.copies)

    @cached_property
    def places(self) -> "PlaceService":
        """Offline place names and time zones of GPS positions, KML export (forensics.places)."""
        from forensics.places.service import PlaceService

        return PlaceService(self.ctx)

    @cached_property
    def reports(self) -> "ReportService":
        """Examiner reports (forensics.report)."""
        from forensics.report.service import ReportService

        return ReportService(self.ctx, self.faces, self.copies, self.hashsets)

    def preview(self, item_id: int, max_side: int = 1600) -> Path | None:
        """A derived JPEG to show the item large (see forensics.preview): evidence is decoded
        in a worker process, never in the caller's (the workbench's GUI process)."""
        from forensics.preview import preview_path

        return preview_path(self.ctx, item_id, max_side)

    # -- evidence verification and exports -------------------------------------------
    def verify(self, progress: Callable[[Progress], None] | None = None,
               cancel: threading.Event | None = None) -> dict:
        """Re-hash every evidence file against the catalogue; see `forensics.verify.verify_evidence`."""
        from forensics.verify import verify_evidence

        return verify_evidence(self.ctx, progress, cancel)

    def export_report(self, out_path: str | os.PathLike, fmt: str | None = None, selection: str = "bookmarked",
                      progress: Callable[[Progress], None] | None = None,
                      cancel: threading.Event | None = None) -> dict:
        """Write an examiner report; see `ReportService.export`."""
        return self.reports.export(out_path, fmt, selection, progress, cancel)

    def export_kml(self, out: str | os.PathLike, filters: "ItemFilter | None" = None,
                   ids: Iterable[int] | None = None) -> dict:
        """Write item positions as KML (every item with GPS, or those of `filters` / `ids`);
        see `PlaceService.export_kml`. Pending place names are looked up first."""
        from forensics.browse import ItemFilter

        if self.places.pending() and not self.store.readonly:
            self.places.update()
        return self.places.export_kml(out, filters or ItemFilter(kinds=()), ids)

    def export_vics(self, out: str | os.PathLike, form: str = "media") -> dict:
        """Write the case as VICS JSON (2.0 flat Media list by default, "cases" or "1.3" on
        request); see `forensics.hashsets.vics_export.export_case`."""
        from forensics.hashsets.vics_export import export_case

        return export_case(self.ctx, Path(out), form)
