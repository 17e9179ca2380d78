"""`case.reports`: preview and export examiner reports (HTML, PDF, CSV).

An export reads the case, writes the report file, then hashes the written file and
appends that SHA-256 to the audit log ('report.export'). The report itself states the
audit chain head at the time of export and how to check both.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from forensics import audit
from forensics.clock import utc_now
from forensics.context import CaseContext
from forensics.copies.service import CopyService
from forensics.faces.service import FaceService
from forensics.hashing.digests import sha256_file
from forensics.examiners import encode_head
from forensics.hashsets.service import HashSetService
from forensics.model import Cancelled, CaseError, Progress
from forensics.report import gather
from forensics.report.people import selected_persons
from forensics.report.selection import Selection, resolve
from forensics.report.sources import ReportSources

FORMATS = ("html", "pdf", "csv")
MAX_FACE_THUMBS = 12  # face thumbnails shown per person; every appearance is still listed


class ReportService:
    """Reports for one case. Built lazily as `case.reports`."""

    def __init__(self, ctx: CaseContext, faces: FaceService, copies: CopyService, hashsets: HashSetService) -> None:
        self.ctx = ctx
        self.src = ReportSources(ctx, faces, copies, hashsets)

    # -- what a report will hold ------------------------------------------------
    def selection(self, spec: str) -> Selection:
        """Resolve a selection string (bookmarked, category:N, person:ID, all-tagged, all)."""
        return resolve(self.src, spec)

    def preview(self, selection: str = "bookmarked") -> dict:
        """Counts of what an export of `selection` would include, for the export dialog."""
        sel = resolve(self.src, selection)
        persons, note = selected_persons(self.src, sel)
        faces: int | None = 0
        try:
            for item_id in sel.item_ids:
                faces += len(self.src.faces.faces_of_item(item_id))
        except Exception:
            faces = None
        c = gather.counts(self.src)
        return {"selection": sel.spec, "description": sel.description, "items": len(sel.item_ids),
                "persons": len(persons), "person_names": [p["name"] for p in persons], "faces": faces,
                "audit_entries": c["audit_entries"], "errors": c["errors"], "failed_files": c["failed_files"],
                "unavailable": [note] if note else []}

    # -- export --------------------------------------------------------------------
    def export(self, out_path: str | os.PathLike, fmt: str | None = None, selection: str = "bookmarked",
               progress: Callable[[Progress], None] | None = None,
               cancel: threading.Event | None = None) -> dict:
        """Write a report of `selection` to `out_path` as html, pdf or csv (default: from the
        suffix) and record its SHA-256 in the audit log. Returns path, sha256 and counts.

        A cancelled export removes its partial file and raises `Cancelled`."""
        out = Path(out_path)
        fmt = (fmt or out.suffix.lstrip(".")).lower()
        if fmt not in FORMATS:
            raise CaseError(f"unknown report format {fmt!r}; use a .html, .pdf or .csv file name (or --format)")
        out.parent.mkdir(parents=True, exist_ok=True)
        sel = resolve(self.src, selection)
        t0 = time.monotonic()
        total = len(sel.item_ids)

        def on_item(n: int) -> None:
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"report export cancelled after {n} of {total} items")
            if progress is not None:
                el = time.monotonic() - t0
                rate = n / el if el > 0 else 0.0
                progress(Progress(n, total, 0, rate, (total - n) / rate if rate else None, f"item {n} of {total}"))

        unavailable = gather.Unavailable()
        tmp = out.with_name(out.name + ".partial")
        try:
            if fmt == "csv":
                from forensics.report.csvout import write_csv

                signed = self.ctx.signed_head()
                write_csv(tmp, gather.items(self.src, sel.item_ids, unavailable, False, on_item),
                          encode_head(signed) if signed else "")
                persons: list = []
            else:
                ctx = self._context(sel, out.name, unavailable, fmt == "html", on_item)
                persons = ctx["persons"]
                if fmt == "html":
                    from forensics.report.html import write_html

                    write_html(tmp, ctx)
                else:
                    from forensics.report.pdf import write_pdf

                    write_pdf(tmp, ctx)
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        digest = sha256_file(out)
        result = {"path": str(out.resolve()), "format": fmt, "sha256": digest, "bytes": out.stat().st_size,
                  "selection": sel.spec, "items": total, "persons": len(persons),
                  "seconds": round(time.monotonic() - t0, 3), "unavailable": list(unavailable)}
        entry, result["audit_error"] = self.ctx.log_or_warn(
            "report.export", {"path": result["path"], "format": fmt, "selection": sel.spec},
            {"sha256": digest, "bytes": result["bytes"], "items": total, "persons": len(persons)})
        result["audit_seq"] = entry.seq if entry else None
        return result

    def _context(self, sel: Selection, filename: str, unavailable: gather.Unavailable, data_uri: bool,
                 on_item: Callable[[int], None]) -> dict[str, Any]:
        src = self.src
        # Services may bring themselves up to date (and audit that) when first asked, so
        # they are asked before the chain head the report cites is taken.
        header = gather.header(src, unavailable)
        summary = gather.summary(src, unavailable)
        persons, persons_note = selected_persons(src, sel)
        chain = audit.verify(self.ctx.store.read, [], local_witness=True)
        signed = self.ctx.signed_head() or {}
        head_seq = signed.get("seq", 0)
        c = gather.counts(src)
        for p in persons:
            self._decorate_person(p, data_uri)
        info = self.ctx.record.as_dict()
        return {
            "report": {"title": f"Examiner report: {info['name']}", "generated_utc": utc_now(),
                       "selection_spec": sel.spec, "selection_description": sel.description,
                       "item_count": len(sel.item_ids), "audit_head": signed.get("head", chain.head),
                       "audit_head_seq": head_seq, "signed_head": signed,
                       "signed_head_token": encode_head(signed) if signed else "",
                       "chain_ok": chain.ok, "chain_reason": chain.reason if chain.ok else
                       f"BROKEN at entry {chain.first_broken}: {chain.reason}" if chain.first_broken else
                       f"NOT PROVEN: {chain.reason}",
                       "audit_entries": head_seq, "failed_files": c["failed_files"], "filename": filename},
            "h": header,
            "sources": gather.sources(src),
            "summary": summary,
            "items": gather.items(src, sel.item_ids, unavailable, data_uri, on_item),
            "persons": persons,
            "persons_unavailable": persons_note,
            "errors": gather.failed_files(src),
            "audit": gather.audit_trail(src, head_seq),
            "unavailable": unavailable,
        }

    def _decorate_person(self, p: dict, data_uri: bool) -> None:
        """Add face thumbnails, file paths and frame thumbnails to a person's rows."""
        src = self.src
        p["face_thumbs"] = [s for s in (gather.face_thumb(src, f, data_uri) for f in p["face_ids"][:MAX_FACE_THUMBS]) if s]
        ids = sorted({a["item_id"] for a in p["appearances"]})
        paths = self.ctx.catalogue.display_paths(ids)
        try:
            evidence = src.faces.appearance_evidence(int(p["id"]))
        except Exception:  # the report still lists the appearances
            evidence = {}
        for a in p["appearances"]:
            a["path"] = paths.get(a["item_id"], "?")
            ev = evidence.get(a.get("face_id"))
            a["evidence"] = (f"log10 LR {ev['log10_lr']:+.2f}: {ev['verbal']}" + ("" if ev["reliable"] else " (lead: small face)")
                             if ev else "")
            a["frame_src"] = None
            if a["kind"] == "video":
                # The frame the track is best seen in; the face crop if that frame has no thumbnail.
                frame = gather.thumb_of(src, int(a["frame_item_id"]), data_uri) if a.get("frame_item_id") else None
                if frame is None and a.get("face_id"):
                    frame = gather.face_thumb(src, int(a["face_id"]), data_uri)
                a["frame_src"] = frame
