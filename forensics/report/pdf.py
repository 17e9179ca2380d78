"""PDF report with the same content as the HTML one, laid out with reportlab platypus.

Platypus normally takes the whole story as one list. Here the story is a generator
behind `_LazyStory`, a list that refills itself a few dozen flowables ahead, so items,
audit entries and errors are produced from SQLite while pages are being laid out.
What stays in memory is what reportlab keeps until it saves: the finished pages and the
embedded thumbnails, which are scaled down to keep that moderate.
"""
from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from forensics.report.gather import human_size
from forensics.report.people import format_seconds

PDF_THUMB_PX = 160  # long side of thumbnails embedded in the PDF (38 mm wide: ~107 dpi)
ROWS_PER_TABLE = 40
NOTE_CHARS = 1500  # longer notes continue below the item table (a cell cannot span pages)  # long tables are cut into pieces so splitting stays cheap


class _LazyStory(list):
    """A list of flowables that pulls from a generator whenever platypus asks its length."""

    def __init__(self, source: Iterator[Any], ahead: int = 48) -> None:
        super().__init__()
        self._source: Iterator[Any] | None = source
        self._ahead = ahead

    def __len__(self) -> int:
        while self._source is not None and list.__len__(self) < self._ahead:
            try:
                self.append(next(self._source))
            except StopIteration:
                self._source = None
        return list.__len__(self)


def _fonts() -> tuple[str, str, str]:
    """DejaVu (full Unicode, shipped inside matplotlib's wheel) if present, else Helvetica."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        registered = pdfmetrics.getRegisteredFontNames()
        if "DejaVuSans" not in registered:
            spec = importlib.util.find_spec("matplotlib")
            base = Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"
            pdfmetrics.registerFont(TTFont("DejaVuSans", str(base / "DejaVuSans.ttf")))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(base / "DejaVuSans-Bold.ttf")))
            pdfmetrics.registerFont(TTFont("DejaVuSansMono", str(base / "DejaVuSansMono.ttf")))
        return "DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono"
    except Exception:
        return "Helvetica", "Helvetica-Bold", "Courier"


class _Builder:
    def __init__(self, ctx: dict[str, Any]) -> None:
        from reportlab.lib import colors
        from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

        self.ctx = ctx
        self.colors = colors
        self.scratch = ""  # folder for scaled thumbnails, set by write_pdf
        self._n = 0
        regular, bold, mono = _fonts()
        ss = getSampleStyleSheet()
        self.s = {
            "title": ParagraphStyle("t", parent=ss["Title"], fontName=bold, fontSize=17, leading=21, alignment=0),
            "h2": ParagraphStyle("h2", parent=ss["Heading2"], fontName=bold, fontSize=13, leading=16, spaceBefore=12),
            "h3": ParagraphStyle("h3", parent=ss["Heading3"], fontName=bold, fontSize=10.5, leading=13, spaceBefore=8),
            "p": ParagraphStyle("p", parent=ss["Normal"], fontName=regular, fontSize=8.5, leading=10.5),
            "muted": ParagraphStyle("m", parent=ss["Normal"], fontName=regular, fontSize=8, leading=10,
                                    textColor=colors.HexColor("#555555")),
            "cell": ParagraphStyle("c", parent=ss["Normal"], fontName=regular, fontSize=7.5, leading=9.2),
            "th": ParagraphStyle("th", parent=ss["Normal"], fontName=bold, fontSize=7.5, leading=9.2),
            # CJK wrapping ("monowrap") breaks anywhere, so long paths fold inside their cell.
            "monowrap": ParagraphStyle("mw", parent=ss["Normal"], fontName=mono, fontSize=7, leading=8.8, wordWrap="CJK"),
            # Hashes fit their column unbroken; plain wrapping is several times cheaper than CJK.
            "mono": ParagraphStyle("mono", parent=ss["Normal"], fontName=mono, fontSize=7, leading=8.8),
        }
        self.regular = regular

    # -- small pieces --------------------------------------------------------
    def P(self, text: Any, style: str = "p"):
        from reportlab.platypus import Paragraph

        return Paragraph(escape("" if text is None else str(text)), self.s[style])

    def table(self, rows: list[list[Any]], widths: list[float], header: bool = True):
        from reportlab.platypus import Table, TableStyle

        cells = [[c if not isinstance(c, (str, int, float, type(None))) else self.P(c, "cell") for c in r] for r in rows]
        t = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
        style = [("GRID", (0, 0), (-1, -1), 0.4, self.colors.HexColor("#BBBBBB")),
                 ("VALIGN", (0, 0), (-1, -1), "TOP"),
                 ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                 ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), self.colors.HexColor("#EEEEEE")))
        t.setStyle(TableStyle(style))
        return t

    def kv(self, rows: list[tuple[str, Any]], width: float, key_w: float = 42, mono: tuple[str, ...] = ()):
        from reportlab.lib.units import mm

        return self.table([[self.P(k, "th"), self.P(v, "mono" if k in mono else "cell")] for k, v in rows],
                          [key_w * mm, width - key_w * mm], header=False)

    @staticmethod
    def _places(pl: dict | None) -> list[tuple[str, Any]]:
        """The summary row of GPS positions by country (none when the case has none)."""
        if not pl or not pl["positions"]:
            return []
        text = ", ".join(f"{c['name']} ({c['code']}) {c['count']}" for c in pl["countries"])
        for key, label in (("outside_countries", "outside every country"), ("invalid", "invalid"),
                           ("pending", "not yet named")):
            if pl[key]:
                text += f"; {label} {pl[key]}"
        return [("GPS positions", f"{pl['positions']}: {text}")]

    def chunked(self, header: list[str], rows: Iterator[list[Any]], widths: list[float]) -> Iterator[Any]:
        head = [self.P(h, "th") for h in header]
        buf: list[list[Any]] = []
        for r in rows:
            buf.append(r)
            if len(buf) == ROWS_PER_TABLE:
                yield self.table([head, *buf], widths)
                buf = []
        if buf:
            yield self.table([head, *buf], widths)

    def image(self, path: str | None, max_w: float, max_h: float):
        """A thumbnail as a platypus Image, or None if it is missing or undecodable.

        reportlab copies a JPEG *file* into the PDF as it is (DCTDecode), but decodes
        anything else, in-memory JPEGs included, to raw RGB. So thumbnails are scaled to
        PDF_THUMB_PX into small JPEG files in a scratch folder and placed from there: fast,
        and about 5 KB per image held until the PDF is saved."""
        from PIL import Image as PILImage
        from reportlab.platypus import Image

        if not path or not os.path.isfile(path):
            return None
        try:
            with PILImage.open(path) as im:
                im.thumbnail((PDF_THUMB_PX, PDF_THUMB_PX))
                w, h = im.size
                self._n += 1
                scaled = os.path.join(self.scratch, f"{self._n}.jpg")
                im.convert("RGB").save(scaled, "JPEG", quality=80)
        except Exception:
            return None
        scale = min(max_w / w, max_h / h)
        return Image(scaled, width=w * scale, height=h * scale)

    # -- the story -------------------------------------------------------------
    def story(self) -> Iterator[Any]:
        from reportlab.lib.units import mm
        from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle

        c, h, r, W = self.ctx, self.ctx["h"], self.ctx["report"], self.width
        case = h["case"]
        yield self.P(r["title"], "title")
        yield self.P(f"Case {case['number']} · generated {r['generated_utc']} by {h['examiner']} with {h['tool']}", "muted")
        yield self.P("1. Case", "h2")
        rows = [("Case name", case["name"]), ("Case number", case["number"]), ("Authority (legal basis)", case["authority"]),
                ("Case examiner", case["examiner"]), ("Report produced by", h["examiner"])]
        if case.get("description"):
            rows.append(("Description", case["description"]))
        rows += [("Case created", case["created_utc"]), ("Report generated", r["generated_utc"]),
                 ("Tool", f"{h['tool']} (case created with version {case['tool_version']})"),
                 ("Selection", f"{r['selection_spec']}: {r['selection_description']} ({r['item_count']} items)")]
        yield self.kv(rows, W)
        yield self.P("Models, algorithms and thresholds", "h3")
        yield self.kv((h["models"] or [("Face model", "not available in this case")]) + h["algorithms"], W)

        yield self.P("2. Evidence sources", "h2")
        yield self.table([[self.P(x, "th") for x in ("#", "Source path", "Files", "Total size", "Added", "Verification")]] + [
            [s["id"], self.P(s["path"], "monowrap"), s["files"], human_size(s["bytes"]), f"{s['added_utc']} {s['added_by']}",
             s["verification"]] for s in c["sources"]] or [["", "no evidence sources", "", "", "", ""]],
            [8 * mm, 52 * mm, 13 * mm, 27 * mm, 30 * mm, W - 130 * mm])

        sm = c["summary"]
        yield self.P("3. Summary", "h2")
        def flat(d): return "unavailable" if d is None else "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in d.items())
        persons = "unavailable" if sm["persons"] is None else f"{sm['persons']['total']} ({sm['persons']['named']} named)"
        yield self.kv([("Files", f"{sm['files']} ({human_size(sm['bytes'])})"), ("Items by kind", flat(sm["by_kind"])),
                       ("Files by type", ", ".join(f"{t}: {n}" for t, n in sm["by_type"].items())),
                       *([("File flags", ", ".join(f"{k}: {v}" for k, v in sorted(sm["flags"].items())))] if sm["flags"] else []),
                       ("Files with errors", sm["errors"]), ("Faces", flat(sm["faces"])), ("Persons", persons),
                       ("Copy groups", flat(sm["copies"])), *self._places(sm.get("places")),
                       ("Audit entries", sm["audit_entries"])], W)
        yield self.P("Known-hash set matches", "h3")
        if sm["hashsets"] is None:
            yield self.P("Hash-set matching unavailable in this case.", "muted")
        elif not sm["hashsets"]:
            yield self.P("No hash sets imported.", "muted")
        else:
            yield from self.chunked(["Hash set", "Kind", "Items matched"], (
                [m["set"], m["kind"], m["items"]] for m in sm["hashsets"]), [W - 60 * mm, 30 * mm, 30 * mm])
            if sm.get("hashset_categories"):
                yield from self.chunked(["Hash-set matches by category", "Items"], (
                    [f"{m['category']} ({m['name']})", m["items"]] for m in sm["hashset_categories"]),
                    [W - 30 * mm, 30 * mm])
        yield self.P("4. Persons", "h2")
        if c["persons_unavailable"]:
            yield self.P(c["persons_unavailable"], "muted")
        if not c["persons"]:
            yield self.P("No persons in this selection.", "muted")
        for p in c["persons"]:
            yield self.P(f"{p['name']} (person {p['id']}, {p['face_count']} faces, {len(p['appearances'])} appearances)", "h3")
            faces = [im for im in (self.image(f, 18 * mm, 18 * mm) for f in p["face_thumbs"]) if im is not None]
            if faces:
                t = Table([faces[i:i + 9] for i in range(0, len(faces), 9)], colWidths=[20 * mm] * min(9, len(faces)), hAlign="LEFT")
                t.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 1), ("RIGHTPADDING", (0, 0), (-1, -1), 1)]))
                yield t
            yield from self.chunked(["Appearance", "Item", "File", "Time span", "Evidence (same person)", "Frame"], (
                [a["kind"], a["item_id"], self.P(a["path"], "monowrap"),
                 f"{format_seconds(a['start'])} – {format_seconds(a['end'])}" if a["kind"] == "video" else "",
                 self.P(a.get("evidence") or ""),
                 self.image(a.get("frame_src"), 24 * mm, 16 * mm) or (f"frame item {a['frame_item_id']}" if a.get("frame_item_id") else "")]
                for a in p["appearances"]), [18 * mm, 12 * mm, W - 128 * mm, 30 * mm, 40 * mm, 28 * mm])

        yield self.P(f"5. Selected items ({r['item_count']})", "h2")
        yield self.P(f"{r['selection_description']}. Hashes were computed from the original files at ingest; "
                     "file-system times are UTC; capture times (EXIF, video) are as the device recorded them, usually its local time.", "muted")
        any_item = False
        for it in c["items"]:
            any_item = True
            yield from self.item(it)
        if not any_item:
            yield self.P("The selection contains no items.", "muted")

        yield self.P(f"6. Files that failed to process ({r['failed_files']})", "h2")
        any_err = False
        for t in self.chunked(["Item", "Path", "Stage", "Error", "Time"], (
                [e["item_id"], self.P(e["path"], "monowrap"), e["stage"], e["message"], e["time_utc"]] for e in c["errors"]),
                [12 * mm, 60 * mm, 16 * mm, W - 120 * mm, 32 * mm]):
            any_err = True
            yield t
        if not any_err:
            yield self.P("None.", "muted")

        yield self.P(f"7. Audit trail ({r['audit_entries']} entries)", "h2")
        yield self.P("Every change to and search of the case, in order. Each entry's hash covers its content and "
                     "the previous entry's hash.", "muted")
        yield from self.chunked(["#", "Time (UTC)", "Examiner", "Action", "Parameters", "Result"], (
            [a["seq"], a["time_utc"], a["examiner"], a["action"], self.P(a["params"], "monowrap"), self.P(a["result"], "monowrap")]
            for a in c["audit"]), [9 * mm, 25 * mm, 20 * mm, 22 * mm, (W - 76 * mm) / 2, (W - 76 * mm) / 2])

        yield self.P("8. Integrity and how to check this report", "h2")
        fn, seq = r["filename"], r["audit_head_seq"]
        parts = [
            self.P(f"Audit chain at export: {r['chain_reason']}, {r['audit_entries']} entries, head entry {seq} with hash"),
            self.P(r["audit_head"], "mono"), Spacer(1, 4),
            *([self.P(f"Signed audit head: entry {sh['seq']}, signed by {sh['examiner']} with key {sh['key_id']} at "
                      f"{sh['time_utc']}; it is embedded in this PDF's metadata. Check the case against it: forensics "
                      f"audit verify DIR --witness {fn}."), Spacer(1, 4)] if (sh := r.get("signed_head")) else []),
            self.P("The SHA-256 of this report file is written to the case audit log as the next entry (action "
                   "report.export, parameter path, result sha256) immediately after it was written. A file cannot "
                   "contain its own hash, so to check this report:"),
            self.P(f"1. Compute the report's SHA-256: sha256sum {fn} (Windows: certutil -hashfile {fn} SHA256)."),
            self.P(f"2. Find the report.export entry that follows entry {seq} in the case's audit log "
                   "(forensics audit verify DIR --json and the audit view list it) and compare: the values must be identical."),
            self.P(f"3. Run forensics audit verify DIR --witness {fn}: it checks every entry's hash and signature and must report the log intact; "
                   f"entry {seq} must still carry the hash shown above."),
            self.P("4. Run forensics verify DIR to re-read every evidence file and confirm its MD5, SHA-1 and SHA-256 "
                   "still match the values in this report."),
        ]
        box = Table([[parts]], colWidths=[W])
        box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.2, self.colors.black),
                                 ("BACKGROUND", (0, 0), (-1, -1), self.colors.HexColor("#F7F7F7"))]))
        yield KeepTogether([box])
        if c["unavailable"]:
            yield self.P("Sections not available", "h3")
            for n in c["unavailable"]:
                yield self.P("• " + n)
        yield self.P(f"End of report. {h['tool']}, {r['generated_utc']}.", "muted")

    def item(self, it: dict) -> Iterator[Any]:
        """One selected item: a single table, the thumbnail spanning the left column."""
        from reportlab.lib.units import mm
        from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle

        W = self.width
        where = f" @ {it['frame_time_text']} (frame {it['frame_index']})" if it["kind"] == "frame" else ""
        kind = ", ".join(str(x) for x in (it["kind"], it.get("mime"),
                                           f"{it['width']}x{it['height']}" if it.get("width") else None,
                                           format_seconds(it["duration"]) if it.get("duration") else None) if x)
        if it.get("flags"):
            kind += f" [{', '.join(it['flags'])}]"
        cat = f"{it['category']} ({it['category_name']})" if it.get("category") is not None else "none"
        rows: list[tuple[str, Any, str]] = [
            ("Path", it["path"] + where, "monowrap"), ("Type", kind, "cell"), ("Size", human_size(it["size"]), "cell"),
            ("MD5", it.get("md5") or "", "mono"), ("SHA-1", it.get("sha1") or "", "mono"),
            ("SHA-256", it.get("sha256") or "", "mono")]
        if it.get("phash"):
            rows.append(("pHash / dHash", f"{it['phash']} / {it['dhash']}", "mono"))
        rows.append(("Category", cat + ("; bookmarked" if it.get("bookmarked") else ""), "cell"))
        rows.append(("File times", f"modified {it.get('mtime_utc') or '?'}"
                     + (f", changed {it['ctime_utc']}" if it.get("ctime_utc") else ""), "cell"))
        exif = "; ".join(x for x in (f"camera {it['camera']}" if it.get("camera") else "",
                                     f"taken {it['taken_text']}" if it.get("taken_text") else "",
                                     f"GPS {it['gps_text']}" if it.get("gps_text") else "") if x)
        if exif:
            rows.append(("EXIF", exif, "cell"))
        if it.get("place_text"):
            rows.append(("Place", it["place_text"], "cell"))
        if it.get("tags"):
            rows.append(("Tags", ", ".join(it["tags"]), "cell"))
        if it.get("faces"):
            rows.append(("Faces", it["faces"], "cell"))
        for m in it.get("hash_matches") or []:
            rows.append(("Hash-set match", f"{m['set']}" + (f" ({m['kind']})" if m.get("kind") else "")
                         + (f", category {m['category']}" if m.get("category") is not None else "")
                         + (f", by {m['hash']}" if m.get("hash") else "")
                         + (f" distance {m['distance']}" if m.get("distance") else ""), "cell"))
        g = it.get("copy_group")
        if g:
            members = "; ".join(f"item {m['id']}: {m['path']}" for m in g["members"])
            rows.append(("Copy group", f"group {g['id']} ({g['kind']}, {g['size']} files): {members}"
                         + (f" ... and {g['more']} more" if g["more"] else ""), "monowrap"))
        for e in it.get("errors") or []:
            rows.append(("Error", f"{e['stage']}: {e['message']}"[:NOTE_CHARS], "cell"))
        note = it.get("note") or ""
        if note:
            rows.append(("Notes", note if len(note) <= NOTE_CHARS else note[:NOTE_CHARS] + " [continued below]", "cell"))
        thumb = self.image(it.get("thumb_src"), 38 * mm, 38 * mm) or self.P("no thumbnail", "muted")
        cells = [[[thumb, self.P(f"Item {it['id']}", "th")] if i == 0 else "", self.P(k, "th"), self.P(v, st)]
                 for i, (k, v, st) in enumerate(rows)]
        t = Table(cells, colWidths=[42 * mm, 24 * mm, W - 66 * mm])
        t.setStyle(TableStyle([
            ("SPAN", (0, 0), (0, -1)), ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("GRID", (1, 0), (-1, -1), 0.4, self.colors.HexColor("#BBBBBB")),
            ("BOX", (0, 0), (-1, -1), 0.8, self.colors.HexColor("#999999")),
            ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
        yield KeepTogether([t, Spacer(1, 7)])
        if len(note) > NOTE_CHARS:
            # A cell cannot break across pages; a long note follows as ordinary paragraphs.
            yield self.P(f"Notes on item {it['id']} (continued):", "th")
            for para in note[NOTE_CHARS:].split("\n"):
                yield self.P(para)
            yield Spacer(1, 7)


def write_pdf(out: Path, ctx: dict[str, Any]) -> None:
    """Lay out the report story into `out`."""
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    # Images go in binary, not ASCII85: a quarter smaller and no slow pure-Python encoding.
    rl_config.useA85 = 0
    b = _Builder(ctx)
    doc = SimpleDocTemplate(str(out), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=ctx["report"]["title"], author=ctx["h"]["examiner"],
                            creator=ctx["h"]["tool"], subject=f"Case {ctx['h']['case']['number']}",
                            keywords=ctx["report"].get("signed_head_token") or "")
    b.width = doc.width
    case = ctx["h"]["case"]

    def decorate(canvas, d) -> None:
        canvas.saveState()
        canvas.setFont(b.regular, 7)
        canvas.setFillGray(0.35)
        canvas.drawString(15 * mm, A4[1] - 10 * mm, f"{case['name']} · case {case['number']}")
        canvas.drawRightString(A4[0] - 15 * mm, A4[1] - 10 * mm, f"Report generated {ctx['report']['generated_utc']}")
        canvas.drawString(15 * mm, 9 * mm, f"{ctx['h']['tool']} · selection {ctx['report']['selection_spec']}")
        canvas.drawRightString(A4[0] - 15 * mm, 9 * mm, f"Page {d.page}")
        canvas.restoreState()

    with tempfile.TemporaryDirectory(prefix="forensics-report-") as scratch:
        b.scratch = scratch
        doc.build(_LazyStory(b.story()), onFirstPage=decorate, onLaterPages=decorate)
